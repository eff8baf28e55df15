"""Where HLS playlists and segments live: in memory, or in a directory that nginx can serve directly."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Protocol

NAME = re.compile(r"^(live\.m3u8|recording\.m3u8|index\.json|seg\d{1,12}\.ts)$")


class SegmentStore(Protocol):
    """Objects of a room by name: `live.m3u8`, `recording.m3u8`, `segN.ts` and the packager's `index.json`."""

    def put(self, space_id: int, name: str, data: bytes) -> None:
        """Store (or atomically replace) one object."""

    def get(self, space_id: int, name: str) -> bytes | None:
        """Return one object, or None when it does not exist."""

    def delete(self, space_id: int, name: str) -> None:
        """Remove one object if it exists."""


def _check(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"not a Spaces object name: {name!r}")
    return name


class MemorySegmentStore:
    """Objects in a dict, for tests and single-process servers without a disk to spare."""

    def __init__(self) -> None:
        self._objects: dict[tuple[int, str], bytes] = {}
        self._lock = threading.Lock()

    def put(self, space_id: int, name: str, data: bytes) -> None:
        """Store (or replace) one object."""
        with self._lock:
            self._objects[(space_id, _check(name))] = bytes(data)

    def get(self, space_id: int, name: str) -> bytes | None:
        """Return one object, or None."""
        with self._lock:
            return self._objects.get((space_id, name))

    def delete(self, space_id: int, name: str) -> None:
        """Remove one object if present."""
        with self._lock:
            self._objects.pop((space_id, name), None)


class DirectorySegmentStore:
    """Objects as files `<root>/<space_id>/<name>`, written atomically so nginx never serves half a file."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, space_id: int, name: str) -> Path:
        return self.root / str(int(space_id)) / _check(name)

    def put(self, space_id: int, name: str, data: bytes) -> None:
        """Write one object via a temp file and rename."""
        path = self._path(space_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, space_id: int, name: str) -> bytes | None:
        """Read one object, or None."""
        try:
            return self._path(space_id, name).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def delete(self, space_id: int, name: str) -> None:
        """Remove one file if present."""
        try:
            self._path(space_id, name).unlink()
        except FileNotFoundError:
            pass
