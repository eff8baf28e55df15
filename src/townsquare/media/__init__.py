"""Uploads: type sniffing, image/video/audio processing, blurhash and the MediaStore backends."""
