"""Rooms survive faults of their pipeline: a dead pipeline restarts with a discontinuity, a full disk keeps
the last live window up (and says so), and segments resume with a discontinuity once there is room."""

from __future__ import annotations

import asyncio
import errno
import time

from townsquare.config import Settings
from townsquare.spaces.audio.hub import AudioHub
from townsquare.spaces.audio.store import MemorySegmentStore


class FaultyStore(MemorySegmentStore):
    """A real in-memory store whose segment writes fail with a chosen error while `failing` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: OSError | Exception | None = None

    def put(self, space_id: int, name: str, data: bytes) -> None:
        """Store one object, unless a fault is set for segments."""
        if self.failing is not None and name.endswith(".ts"):
            fault, self.failing = self.failing, (self.failing if isinstance(self.failing, OSError) else None)
            raise fault
        super().put(space_id, name, data)


async def _until(predicate, timeout: float = 20.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def _live(store, sid) -> str:
    return (store.get(sid, "live.m3u8") or b"").decode()


async def test_a_dead_pipeline_is_restarted_and_numbering_goes_on_with_a_discontinuity(tmp_path):
    store = FaultyStore()
    hub = AudioHub(Settings(data_dir=tmp_path), store)
    await hub.start_room(7, record=True)
    source, key = hub.open_speaker(7, "s16le")
    assert await _until(lambda: "seg0.ts" in _live(store, 7))
    first = hub.pipeline_of(7)
    store.failing = RuntimeError("encoder exploded")  # not a storage error: the pipeline thread dies
    assert await _until(lambda: not first.running, timeout=10)  # dies at its next segment write
    died = time.monotonic()
    assert await _until(lambda: hub.pipeline_of(7) is not first and hub.is_running(7))
    print(f"\nFAULT room pipeline died: restarted {time.monotonic() - died:.2f} s later")
    assert hub.restarts == 1
    assert await _until(lambda: "#EXT-X-DISCONTINUITY" in _live(store, 7))
    live = _live(store, 7)
    seqs = [int(line[3:-3]) for line in live.splitlines() if line.startswith("seg")]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # numbering continued, nothing reused
    assert hub.pipeline_of(7).mixer is first.mixer  # the connected speaker feeds the new pipeline
    source.close()
    await hub.end_room(7)
    assert "#EXT-X-ENDLIST" in _live(store, 7)
    await hub.close()


async def test_a_full_disk_keeps_the_live_window_and_says_so_then_segments_resume(tmp_path):
    store = FaultyStore()
    hub = AudioHub(Settings(data_dir=tmp_path), store)
    await hub.start_room(8, record=False)
    assert await _until(lambda: "seg0.ts" in _live(store, 8))
    store.failing = OSError(errno.ENOSPC, "No space left on device")
    assert await _until(lambda: hub.storage_error(8) is not None)
    window = _live(store, 8)
    await asyncio.sleep(2.5)  # more than a segment's time: nothing new, and the old window is still served
    assert _live(store, 8) == window and hub.is_running(8) and hub.restarts == 0
    assert "No space" in hub.storage_error(8)
    store.failing = None  # space freed
    freed = time.monotonic()
    assert await _until(lambda: _live(store, 8) != window and hub.storage_error(8) is None)
    print(f"\nFAULT segments on a full disk: live window moving again {time.monotonic() - freed:.2f} s after space was freed")
    assert "#EXT-X-DISCONTINUITY" in _live(store, 8)  # the gap is marked for players
    await hub.close()
