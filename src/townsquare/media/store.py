"""Where media files live: the MediaStore interface and its disk backend (files under <data dir>/media)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from pathlib import Path
from typing import Protocol

CONTENT_TYPES = {
    "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
    "mp4": "video/mp4", "m4a": "audio/mp4", "mp3": "audio/mpeg", "bin": "application/octet-stream",
}


def new_prefix() -> str:
    """A random folder for one attachment's files: 128 bits, so no URL can be guessed from an id."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


def content_type_of(key: str) -> str:
    """The Content-Type a stored file is served with, from the extension this code gave it."""
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")


class MediaStore(Protocol):
    """Stores media files by key; keys are written once and never change (so caches may keep them forever)."""

    url_base: str | None  # public URL of the files; None when this app serves them under /system/media

    async def put(self, key: str, data: bytes) -> None:
        """Store bytes under a key."""

    async def put_file(self, key: str, path: Path) -> None:
        """Store a local file under a key."""

    async def get(self, key: str) -> bytes:
        """Return the bytes stored under a key (FileNotFoundError if none)."""

    async def fetch_to(self, key: str, path: Path) -> None:
        """Copy the file stored under a key to a local path (FileNotFoundError if none)."""

    async def delete(self, keys: list[str]) -> None:
        """Remove these keys; missing ones are fine."""

    async def exists(self, key: str) -> bool:
        """Whether a key is stored."""


class DiskMediaStore:
    """Files under a folder that the app (or nginx) serves at /system/media/."""

    url_base = None

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The file of a key, refusing keys that would leave the folder."""
        if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key or "\x00" in key:
            raise FileNotFoundError(key)
        return self.root / key

    def _write(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        partial.write_bytes(data)
        os.replace(partial, target)  # readers see the whole file or none

    async def put(self, key: str, data: bytes) -> None:
        """Store bytes under a key (atomically)."""
        await asyncio.to_thread(self._write, key, data)

    def _copy(self, key: str, path: Path) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        shutil.copyfile(path, partial)
        os.replace(partial, target)

    async def put_file(self, key: str, path: Path) -> None:
        """Store a local file under a key (atomically)."""
        await asyncio.to_thread(self._copy, key, path)

    async def get(self, key: str) -> bytes:
        """Return the bytes of a key."""
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def fetch_to(self, key: str, path: Path) -> None:
        """Copy a key's file to a local path."""
        await asyncio.to_thread(shutil.copyfile, self.path(key), path)

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            try:
                target = self.path(key)
                target.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
            folder = target.parent  # drop emptied folders up to the root
            while folder != self.root and folder.is_relative_to(self.root):
                try:
                    folder.rmdir()
                except OSError:
                    break
                folder = folder.parent

    async def delete(self, keys: list[str]) -> None:
        """Remove these keys and the folders they leave empty."""
        await asyncio.to_thread(self._delete, list(keys))

    async def exists(self, key: str) -> bool:
        """Whether a key's file exists."""
        try:
            return self.path(key).is_file()
        except FileNotFoundError:
            return False
