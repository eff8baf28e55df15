"""Live audio for Spaces: speaker ingest, mixing, AAC encoding and HLS packaging, served from a SegmentStore."""

SAMPLE_RATE = 48000
FRAME_SAMPLES = 1024  # one AAC-LC frame
