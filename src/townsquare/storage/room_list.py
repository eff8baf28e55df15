"""The rooms nginx may let joins through to without asking: an empty file per room, named by its id.

On the night a room gets popular, junk joins for made-up room ids would each cost the app a request (uvicorn,
the overload gate) that nginx cannot tell from a real room's join. With this list nginx checks a file
(`deploy/nginx-spaces.conf`, one stat): a room listed here goes straight on; one not listed is sent to
the app at a few a second, the rest told to retry (503 + Retry-After). A missing file therefore never makes a
room "not available": it only makes its joins slower until the file is there.

A room is listed before the transaction that creates it commits, so nobody can learn its id (the 200, the
stream, a notification) before nginx lets its joins through; a listing whose transaction then failed names a
room the app itself answers 404 for. At start-up every room in the database is listed again (a list lost, or
rooms made before it existed). Writing a file can fail (a full disk): that is logged, not raised.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Iterable

from sqlalchemy import select

from townsquare.storage.db import Database
from townsquare.storage.tables import spaces

log = logging.getLogger("townsquare.spaces")


class RoomList:
    """The directory of listed rooms (one empty file per room id)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def add(self, space_id: int) -> None:
        """List a room (before its creation commits)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            (self.path / str(int(space_id))).touch()
        except OSError as exc:  # its joins then take nginx's slow lane to the app, which knows the room
            log.warning("could not list space %s for nginx in %s: %s", space_id, self.path, exc)

    def discard(self, space_id: int) -> None:
        """Take a deleted room off the list (a stale entry is harmless: the app answers for it)."""
        try:
            (self.path / str(int(space_id))).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not unlist space %s in %s: %s", space_id, self.path, exc)

    def listed(self) -> set[int]:
        """The room ids listed now."""
        try:
            return {int(name) for name in os.listdir(self.path) if name.isdigit()}
        except OSError:
            return set()

    def sync(self, ids: Iterable[int]) -> int:
        """List every room of `ids` not listed yet; return how many were added."""
        have = self.listed()
        missing = [i for i in ids if i not in have]
        for space_id in missing:
            self.add(space_id)
        return len(missing)


async def list_all(db: Database, rooms: RoomList) -> None:
    """At start-up: list every room in the database not listed yet (a failure only slows unlisted rooms' joins)."""
    try:
        async with db.read() as conn:
            ids = list((await conn.execute(select(spaces.c.id))).scalars())
        added = await asyncio.to_thread(rooms.sync, ids)
        if added:
            log.info("listed %d spaces for nginx in %s", added, rooms.path)
    except Exception:
        log.exception("could not list the spaces for nginx")
