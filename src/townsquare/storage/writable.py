"""Whether storage takes writes: the read-only state after a full disk, its probe, the reserve file, the readiness check.

The reserve is a small file kept in the data dir while there is room. A server that must start on a
completely full disk deletes it first, so SQLite can create its shared-memory file and serve reads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Awaitable, Callable

from townsquare.core.clock import iso, now

log = logging.getLogger("townsquare.storage")
RESERVE_NAME = "townsquare.reserve"


def free_bytes(path: Path | None) -> int | None:
    """Bytes free for writing on the file system holding path (None when unknown)."""
    if path is None:
        return None
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def ensure_reserve(data_dir: Path | None, size: int) -> bool:
    """Create the reserve file when it is missing and the disk has room to spare; return whether it exists."""
    if data_dir is None or size <= 0:
        return False
    path = Path(data_dir) / RESERVE_NAME
    if path.exists():
        return True
    free = free_bytes(Path(data_dir))
    if free is None or free < 4 * size:
        return False
    try:
        with open(path, "wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, size)  # real blocks, not a sparse file
    except OSError:
        path.unlink(missing_ok=True)
        return False
    return True


def release_reserve(data_dir: Path | None) -> bool:
    """Delete the reserve file to make room on a full disk; return whether there was one."""
    if data_dir is None:
        return False
    path = Path(data_dir) / RESERVE_NAME
    if not path.exists():
        return False
    path.unlink()
    log.warning("storage: released the %s reserve in %s to start on a full disk", RESERVE_NAME, data_dir)
    return True


class StorageHealth:
    """The writable/read-only state of the database and data dir, as writes find it, probed back to writable."""

    def __init__(self, data_dir: Path | None = None, reserve_bytes: int = 0, probe_every: float = 2.0):
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.reserve_bytes = reserve_bytes
        self.probe_every = probe_every
        self.writable = True
        self.reason: str | None = None
        self.since = None
        self.recovered_after: float | None = None  # seconds the last read-only spell lasted
        self.probe: Callable[[], Awaitable[None]] | None = None  # a trial write (the Database sets it)
        self._started: float | None = None
        self._task: asyncio.Task | None = None

    def failed(self, reason: str) -> None:
        """Note that a write failed for lack of storage; probe until writes work again."""
        if self.writable:
            log.warning("storage: writes refused, serving read-only: %s", reason)
            self.since, self._started = now(), time.monotonic()
        self.writable, self.reason = False, reason
        self._ensure_probe()

    def _ensure_probe(self) -> None:
        if self.writable or self.probe is None or (self._task is not None and not self._task.done()):
            return
        try:
            self._task = asyncio.get_running_loop().create_task(self._probe_until_writable())
        except RuntimeError:  # no loop yet (start-up): the readiness check or the next write starts it
            pass

    def succeeded(self) -> None:
        """Note that a trial write committed: storage is writable (a commit that wrote nothing proves nothing)."""
        if not self.writable:
            self.recovered_after = time.monotonic() - (self._started or time.monotonic())
            log.warning("storage: writes work again after %.1f s", self.recovered_after)
        self.writable, self.reason, self.since = True, None, None

    async def _probe_until_writable(self) -> None:
        while not self.writable:
            await asyncio.sleep(self.probe_every)
            free = free_bytes(self.data_dir)
            if free is not None and free < 64 * 1024:
                continue  # nothing freed yet: a trial write would only fail again
            try:
                await self.probe()
            except Exception as exc:  # still full or read-only; the state keeps the newest reason
                log.debug("storage probe failed: %s", exc)
                continue
            self.succeeded()
        ensure_reserve(self.data_dir, self.reserve_bytes)

    async def check(self) -> dict:
        """The `storage` readiness check: ok while writes are taken, else read-only and why."""
        self._ensure_probe()
        return {"name": "storage", "ok": self.writable, "mode": "read-write" if self.writable else "read-only",
                "reason": self.reason, "since": iso(self.since), "free_bytes": free_bytes(self.data_dir)}

    async def close(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
