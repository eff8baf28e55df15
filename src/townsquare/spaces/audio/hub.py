"""AudioHub: the rooms' audio pipelines of this process and the store their HLS output goes to."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from townsquare.config import Settings
from townsquare.spaces.audio.ingest import SpeakerInput
from townsquare.spaces.audio.packager import HlsPackager
from townsquare.spaces.audio.pipeline import RoomPipeline
from townsquare.spaces.audio.store import DirectorySegmentStore, MemorySegmentStore, SegmentStore


def make_store(settings: Settings) -> SegmentStore:
    """The directory store under settings.spaces_dir (default <data_dir>/spaces), or memory when configured."""
    if settings.spaces_store == "memory":
        return MemorySegmentStore()
    return DirectorySegmentStore(Path(settings.spaces_dir or Path(settings.data_dir) / "spaces"))


class AudioHub:
    """Starts and ends room pipelines, connects speakers to them, and names their playlists."""

    def __init__(self, settings: Settings, store: SegmentStore | None = None) -> None:
        self.settings = settings
        self.store = store or make_store(settings)
        self._rooms: dict[int, RoomPipeline] = {}
        self._lock = asyncio.Lock()
        self._checked: dict[int, float] = {}

    async def start_room(self, space_id: int, record: bool) -> None:
        """Start the room's pipeline if it is not running (after a restart it resumes with a discontinuity)."""
        async with self._lock:
            current = self._rooms.get(space_id)
            if current is not None and current.running:
                return
            pipeline = await asyncio.to_thread(RoomPipeline, self.store, space_id, record)
            pipeline.start()
            self._rooms[space_id] = pipeline

    async def end_room(self, space_id: int) -> None:
        """Stop the room's pipeline and close its playlists (ENDLIST; the recording becomes VOD)."""
        async with self._lock:
            pipeline = self._rooms.pop(space_id, None)
            if pipeline is not None:
                await asyncio.to_thread(pipeline.stop, True)
            elif self.store.get(space_id, "index.json") is not None:
                await asyncio.to_thread(self._close_idle, space_id)

    def _close_idle(self, space_id: int) -> None:
        packager = HlsPackager(self.store, space_id, record=False)
        packager.finish(None, ended=True)

    def due_for_check(self, space_id: int, every: float = 5.0) -> bool:
        """Whether it is time to look up a room that is not running here (at most once per `every` seconds)."""
        now = time.monotonic()
        if now - self._checked.get(space_id, -every) < every:
            return False
        if len(self._checked) > 10000:  # requests for made-up ids must not grow this without bound
            self._checked.clear()
        self._checked[space_id] = now
        return True

    def is_running(self, space_id: int) -> bool:
        """Whether this process runs the room's pipeline now."""
        pipeline = self._rooms.get(space_id)
        return pipeline is not None and pipeline.running

    def open_speaker(self, space_id: int, hint: str | None = None) -> tuple[SpeakerInput, object] | None:
        """Connect a speaker to a running room; None when the room's pipeline is not running here."""
        pipeline = self._rooms.get(space_id)
        if pipeline is None or not pipeline.running:
            return None
        return pipeline.open_speaker(hint)

    def close_speaker(self, space_id: int, key: object) -> None:
        """Disconnect a speaker from its room."""
        pipeline = self._rooms.get(space_id)
        if pipeline is not None:
            pipeline.close_speaker(key)

    def publish_lags(self) -> dict[int, float]:
        """Seconds between the end of each running room's newest segment's audio and its publication."""
        return {sid: p.packager.publish_lag for sid, p in list(self._rooms.items()) if p.running}

    def live_playlist_url(self, space_id: int) -> str:
        """The path of the room's live playlist."""
        return f"/spaces/{space_id}/live.m3u8"

    def recording_url(self, space_id: int) -> str | None:
        """The path of the room's recording playlist, or None when the room is not recorded."""
        pipeline = self._rooms.get(space_id)
        if (pipeline is not None and pipeline.record) or self.store.get(space_id, "recording.m3u8") is not None:
            return f"/spaces/{space_id}/recording.m3u8"
        return None

    async def close(self) -> None:
        """Stop every pipeline without ending the rooms (a restart resumes them)."""
        async with self._lock:
            rooms, self._rooms = list(self._rooms.values()), {}
        for pipeline in rooms:
            await asyncio.to_thread(pipeline.stop, False)
