"""AudioHub: the rooms' audio pipelines of this process and the store their HLS output goes to."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Awaitable, Callable

from townsquare.config import Settings
from townsquare.spaces.audio.ingest import SpeakerInput
from townsquare.spaces.audio.packager import HlsPackager
from townsquare.spaces.audio.pipeline import RoomPipeline
from townsquare.spaces.audio.store import DirectorySegmentStore, MemorySegmentStore, SegmentStore

log = logging.getLogger("townsquare.spaces.audio")
SUPERVISE_EVERY = 1.0  # seconds between looks at this process's rooms


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
        self._ended: dict[int, asyncio.Event] = {}  # set when a room ends, so its speaker sockets close
        self._hosts: dict[int, int] = {}  # host sockets connected per room
        self._host_left: dict[int, float] = {}  # when a room last had no host connected (monotonic)
        self._speakers: dict[int, dict[object, int]] = {}  # per room: speaker socket key -> account id
        self.restarts = 0
        # Ends a room whose host has been gone too long (wiring sets it to the same use case as POST /end).
        self.on_host_gone: Callable[[int], Awaitable[None]] | None = None
        self._supervisor: asyncio.Task | None = None

    async def start_room(self, space_id: int, record: bool) -> None:
        """Start the room's pipeline if it is not running (after a restart it resumes with a discontinuity)."""
        async with self._lock:
            current = self._rooms.get(space_id)
            if current is not None and current.running:
                return
            pipeline = await asyncio.to_thread(RoomPipeline, self.store, space_id, record)
            pipeline.start()
            self._rooms[space_id] = pipeline
            self._ended.setdefault(space_id, asyncio.Event())
            if not self._hosts.get(space_id):
                self._host_left.setdefault(space_id, time.monotonic())
            self._supervise()

    async def end_room(self, space_id: int) -> None:
        """Stop the room's pipeline and close its playlists (ENDLIST; the recording becomes VOD)."""
        async with self._lock:
            pipeline = self._rooms.pop(space_id, None)
            ended = self._ended.pop(space_id, None)
            if ended is not None:
                ended.set()
            self._hosts.pop(space_id, None)
            self._host_left.pop(space_id, None)
            if pipeline is not None:
                await asyncio.to_thread(pipeline.stop, True)
            elif self.store.get(space_id, "index.json") is not None:
                await asyncio.to_thread(self._close_idle, space_id)

    def _close_idle(self, space_id: int) -> None:
        packager = HlsPackager(self.store, space_id, record=False)
        packager.finish(None, ended=True)

    def _supervise(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.get_running_loop().create_task(self._watch(), name="townsquare-rooms")

    async def _watch(self) -> None:
        while self._rooms:
            await asyncio.sleep(SUPERVISE_EVERY)
            try:
                await self.supervise_once()
            except Exception:
                log.exception("room supervisor failed")

    async def supervise_once(self) -> None:
        """Restart pipelines that died (numbering goes on, with a discontinuity) and end rooms whose host is gone."""
        for space_id, pipeline in list(self._rooms.items()):
            if not pipeline.running and not pipeline.stopped:
                log.warning("audio pipeline of space %s died; restarting it", space_id)
                await self._restart(space_id, pipeline)
        limit = self.settings.spaces_host_gone_seconds
        if limit <= 0 or self.on_host_gone is None:
            return
        clock = time.monotonic()
        for space_id, left in list(self._host_left.items()):
            if space_id in self._rooms and not self._hosts.get(space_id) and clock - left >= limit:
                self._host_left.pop(space_id, None)
                log.warning("space %s: host gone for %.0f s, ending the room", space_id, clock - left)
                try:
                    await self.on_host_gone(space_id)
                except Exception:
                    log.exception("could not end space %s", space_id)

    async def _restart(self, space_id: int, dead: RoomPipeline) -> None:
        """Replace a dead pipeline; connected speakers keep feeding the same mixer, so their sockets stay up."""
        async with self._lock:
            if self._rooms.get(space_id) is not dead:
                return
            pipeline = await asyncio.to_thread(RoomPipeline, self.store, space_id, dead.record)
            pipeline.mixer = dead.mixer
            pipeline.start()
            self._rooms[space_id] = pipeline
            self.restarts += 1

    def has_room(self, space_id: int) -> bool:
        """Whether this process runs the room (its pipeline may be restarting)."""
        return space_id in self._rooms

    def host_connected(self, space_id: int, here: bool) -> None:
        """Count a host's speaker socket in or out; a room with none for spaces_host_gone_seconds ends."""
        count = self._hosts.get(space_id, 0) + (1 if here else -1)
        self._hosts[space_id] = max(count, 0)
        if count <= 0:
            self._host_left[space_id] = time.monotonic()
        else:
            self._host_left.pop(space_id, None)

    def ended_event(self, space_id: int) -> asyncio.Event | None:
        """An event set when the room ends here (speaker sockets wait on it to close)."""
        return self._ended.get(space_id)

    def pipeline_of(self, space_id: int) -> RoomPipeline | None:
        """The room's current pipeline (a new object after a restart)."""
        return self._rooms.get(space_id)

    def storage_error(self, space_id: int) -> str | None:
        """Why the room's new segments are not being written (a full disk), or None."""
        pipeline = self._rooms.get(space_id)
        return pipeline.storage_error if pipeline is not None else None

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

    def open_speaker(self, space_id: int, hint: str | None = None,
                     account_id: int | None = None) -> tuple[SpeakerInput, object] | None:
        """Connect a speaker to a running room; None when the room's pipeline is not running here."""
        pipeline = self._rooms.get(space_id)
        if pipeline is None or not pipeline.running:
            return None
        opened = pipeline.open_speaker(hint)
        if account_id is not None:
            self._speakers.setdefault(space_id, {})[opened[1]] = account_id
        return opened

    def close_speaker(self, space_id: int, key: object) -> None:
        """Disconnect a speaker from its room."""
        pipeline = self._rooms.get(space_id)
        if pipeline is not None:
            pipeline.close_speaker(key)
        keys = self._speakers.get(space_id)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                self._speakers.pop(space_id, None)

    def on_air(self, space_id: int) -> tuple[set[int], set[int]]:
        """The accounts with a speaker socket open in this process, and those of them audible just now."""
        keys = dict(self._speakers.get(space_id, {}))
        pipeline = self._rooms.get(space_id)
        voiced = pipeline.mixer.voiced() if pipeline is not None else []
        return set(keys.values()), {keys[k] for k in voiced if k in keys}

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
        if self._supervisor is not None:
            self._supervisor.cancel()
        for pipeline in rooms:
            await asyncio.to_thread(pipeline.stop, False)
