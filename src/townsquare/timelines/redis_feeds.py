"""RedisFeedStore: home and list feeds as Redis sorted sets, for the scale-out mode.

Each feed is a sorted set whose members are 20-digit status ids, all with score 0, so that
lexicographic order is numeric order and ids beyond 2^53 stay exact (a float score would
round them). A companion set ``<feed>:t`` holds the ids of the statuses the feed shows
(the original of a reblog), which is how repeated reblogs are recognised. Both are trimmed
to the limit on every insert, atomically, by one Lua script. Feeds are derived data: they
can always be regenerated from the database, so Redis need not persist them.
"""

from __future__ import annotations

import functools

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncConnection

from townsquare.core.ids import new_id
from townsquare.storage.tables import follows, list_accounts, statuses, tag_follows, status_tags
from townsquare.timelines.feeds import Entry, FeedsUnavailable
from townsquare.timelines.recipients import Recipients, home_key, list_key

ADD_SCRIPT = """
if redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
local limit = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n > limit then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - limit - 1) end
local m = redis.call('ZCARD', KEYS[2])
if m > 2 * limit then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, m - 2 * limit - 1) end
return 1
"""

# The same effect as ADD_SCRIPT for many feeds in one call, in fewer commands per feed: ZADD NX answers
# "already shown?" and records the target at once, and a rank range ending at -(limit+1) trims to the
# newest `limit` (an empty range, so nothing, while the feed is shorter). The `:t` set grows one for one with
# the feed, so it can only outgrow its bound (2 x limit) once the feed overflows: it is trimmed only then,
# which saves a command per feed for every feed not yet full. The feed names come as one space-separated
# argument (with the key prefix), not as KEYS: encoding thousands of separate arguments per call was
# most of the client's time. The answer lists the (1-based) places of the feeds that did not take the entry
# (they already show it): usually none, so nothing per feed is built for the answer.
# (Keys built inside a script are fine on one Redis; a Redis Cluster would need the feeds as KEYS.)
ADD_MANY_SCRIPT = """
local member, target, prefix = ARGV[1], ARGV[2], ARGV[4]
local keep, keep_shown = -(tonumber(ARGV[3]) + 1), -(2 * tonumber(ARGV[3]) + 1)
local skipped, i = {}, 0
for name in string.gmatch(ARGV[5], '%S+') do
  i = i + 1
  local feed = prefix .. name
  local shown = feed .. ':t'
  if redis.call('ZADD', shown, 'NX', 0, target) == 0 then
    skipped[#skipped + 1] = i
  else
    redis.call('ZADD', feed, 0, member)
    if redis.call('ZREMRANGEBYRANK', feed, 0, keep) > 0 then
      redis.call('ZREMRANGEBYRANK', shown, 0, keep_shown)
    end
  end
end
return skipped
"""

FEEDS_PER_CALL = 1000  # feeds per script call: amortises the call, and keeps Redis busy ~5 ms at a time
BATCH = 50000  # feeds per pipeline round trip
REBUILD_CLAIM_SECONDS = 30  # a rebuild that did not finish (its job failed) is claimed again after this


def _member(status_id: int) -> str:
    return f"{status_id:020d}"


class RedisFeedStore:
    """Feeds in Redis sorted sets; recipients are still chosen by SQL in the main database."""

    def __init__(self, redis_url: str, prefix: str = "townsquare:", limit: int = 800) -> None:
        import redis.asyncio as redis

        self.limit = limit
        self.prefix = prefix
        self.redis = redis.from_url(redis_url)
        self.add_script = self.redis.register_script(ADD_SCRIPT)
        self.add_many_script = self.redis.register_script(ADD_MANY_SCRIPT)
        self._epoch_key = f"{prefix}feeds:epoch"
        self._started = new_id()
        self._epoch_seen = False

    def _key(self, feed: str) -> str:
        return f"{self.prefix}feed:{feed}"

    async def freshness(self, feed: str) -> str:
        """Whether Redis still holds a feed: "ok", "rebuilding", or "lost" (the caller now owns its rebuild).

        A built feed carries a marker key, and Redis an epoch key: the id time from which it has kept
        everything. Losing its data (a restart without persistence, a flush) loses both. A feed without a
        marker is complete when its owner (account or list, a time-ordered id) is younger than the epoch,
        and lost otherwise.
        """
        mark = self._key(feed) + ":m"
        epoch, value = await self.redis.mget(self._epoch_key, mark)
        if value == b"1":
            return "ok"
        if epoch is None:
            # First sight of this Redis: it has kept everything since this process started. Seen
            # before and gone now: Redis lost its data, so only what is born from now on is whole.
            await self.redis.set(self._epoch_key, new_id() if self._epoch_seen else self._started, nx=True)
            epoch = await self.redis.get(self._epoch_key) or b"0"
        self._epoch_seen = True
        if value is None and int(feed.partition(":")[2]) > int(epoch):
            await self.redis.set(mark, "1", nx=True)
            return "ok"
        if value is None and await self.redis.set(mark, "rebuilding", nx=True, ex=REBUILD_CLAIM_SECONDS):
            return "lost"
        return "rebuilding"

    async def mark_built(self, feed: str) -> None:
        """Record that a feed holds everything the database says it should."""
        await self.redis.set(self._key(feed) + ":m", "1")

    async def _add(self, feeds: list[str], entry: Entry) -> list[str]:
        """Add one entry to many feeds, FEEDS_PER_CALL feeds per script call, BATCH feeds per pipeline."""
        got: list[str] = []
        head = [_member(entry.status_id), _member(entry.target_id), self.limit, self.prefix + "feed:"]
        for start in range(0, len(feeds), BATCH):
            chunk = feeds[start:start + BATCH]
            pipe = self.redis.pipeline(transaction=False)
            calls = []
            for first in range(0, len(chunk), FEEDS_PER_CALL):
                part = chunk[first:first + FEEDS_PER_CALL]
                await self.add_many_script(keys=[], args=[*head, " ".join(part)], client=pipe)
                calls.append(part)
            for part, skipped in zip(calls, await pipe.execute()):
                if skipped:
                    drop = {int(i) - 1 for i in skipped}
                    got.extend(feed for n, feed in enumerate(part) if n not in drop)
                else:
                    got.extend(part)
        return got

    async def deliver(self, conn: AsyncConnection, entry: Entry, recipients: Recipients | None) -> list[str]:
        """Add an entry to the author's home feed and to every feed the recipients SELECT names; return those that got it."""
        feeds = [] if recipients is None else [r[0] for r in await conn.execute(recipients.query, recipients.params)]
        own = home_key(entry.author_id)
        if own not in feeds:
            feeds.append(own)
        got = await self._add(feeds, entry)
        if own not in got:
            got.append(own)
        return got

    async def add_entries(self, conn: AsyncConnection, feed: str, entries: list[Entry]) -> None:
        """Add entries (any order) to one feed, skipping duplicates."""
        if not entries:
            return
        key = self._key(feed)
        pipe = self.redis.pipeline(transaction=False)  # one round trip; the calls still run in order
        for entry in sorted(entries, key=lambda e: e.status_id):
            await self.add_script(keys=[key, key + ":t"], args=[_member(entry.status_id), _member(entry.target_id), self.limit],
                                  client=pipe)
        await pipe.execute()

    async def page(self, conn: AsyncConnection, feed: str, max_id: int | None, since_id: int | None,
                   min_id: int | None, limit: int) -> list[int]:
        """Return status ids of one page of a feed, newest first."""
        high = "(" + _member(max_id) if max_id is not None else "+"
        low_id = min_id if min_id is not None else since_id
        # ';' sorts right after the 20 digits, so "(<id>;" excludes exactly that id.
        low = "(" + _member(low_id) + ";" if low_id is not None else "-"
        key = self._key(feed)
        if min_id is not None:
            members = await self.redis.zrangebylex(key, low, high, start=0, num=limit)
            members = list(reversed(members))
        else:
            members = await self.redis.zrevrangebylex(key, high, low, start=0, num=limit)
        return [int(m) for m in members]

    async def size(self, conn: AsyncConnection, feed: str) -> int:
        """How many entries a feed holds."""
        return await self.redis.zcard(self._key(feed))

    async def holds(self, conn: AsyncConnection, feed: str, target_ids: set[int]) -> set[int]:
        """Which of these statuses a feed already shows (as itself or through a reblog)."""
        targets = sorted(target_ids)
        if not targets:
            return set()
        scores = await self.redis.zmscore(self._key(feed) + ":t", [_member(t) for t in targets])
        return {t for t, score in zip(targets, scores) if score is not None}

    async def remove_author(self, conn: AsyncConnection, feed: str, author_id: int) -> None:
        """Remove an author's entries from one feed."""
        key = self._key(feed)
        ids = [int(m) for m in await self.redis.zrange(key, 0, -1)]
        if not ids:
            return
        rows = (await conn.execute(select(statuses.c.id, statuses.c.reblog_of_id).where(statuses.c.id.in_(ids))
                                   .where(statuses.c.account_id == author_id))).all()
        if rows:
            pipe = self.redis.pipeline(transaction=False)
            pipe.zrem(key, *[_member(r.id) for r in rows])
            pipe.zrem(key + ":t", *[_member(r.reblog_of_id or r.id) for r in rows])
            await pipe.execute()

    async def remove_status(self, conn: AsyncConnection, status_id: int) -> None:
        """Remove a status and its reblogs from every feed that may hold them."""
        rows = (await conn.execute(select(statuses.c.id, statuses.c.account_id, statuses.c.reblog_of_id).where(
            (statuses.c.id == status_id) | (statuses.c.reblog_of_id == status_id)))).all()
        if not rows:
            return
        # Removing a reblog frees its original in the feeds that held this reblog, so a later reblog can come in.
        reblogged = next((r.reblog_of_id for r in rows if r.id == status_id), None)
        authors = list({r.account_id for r in rows})
        candidates = union(
            select(follows.c.account_id.label("rid"), select(1).scalar_subquery().label("kind"))
            .where(follows.c.target_account_id.in_(authors)),
            select(tag_follows.c.account_id, select(1).scalar_subquery())
            .where(tag_follows.c.tag_id.in_(select(status_tags.c.tag_id).where(status_tags.c.status_id == status_id))),
            select(list_accounts.c.list_id, select(2).scalar_subquery()).where(list_accounts.c.account_id.in_(authors)),
        )
        feeds = [home_key(a) for a in authors]
        for rid, kind in await conn.execute(candidates):
            feeds.append(home_key(rid) if kind == 1 else list_key(rid))
        members = [_member(r.id) for r in rows]
        for start in range(0, len(feeds), BATCH):
            chunk = feeds[start:start + BATCH]
            pipe = self.redis.pipeline(transaction=False)
            for feed in chunk:
                key = self._key(feed)
                pipe.zrem(key, *members)
                pipe.zrem(key + ":t", _member(status_id))
            removed = (await pipe.execute())[0::2]
            held = [feed for feed, n in zip(chunk, removed) if n]
            if reblogged is not None and held:
                pipe = self.redis.pipeline(transaction=False)
                for feed in held:
                    pipe.zrem(self._key(feed) + ":t", _member(reblogged))
                await pipe.execute()

    async def clear(self, conn: AsyncConnection, feed: str) -> None:
        """Empty a feed."""
        key = self._key(feed)
        await self.redis.delete(key, key + ":t")

    async def trim(self, conn: AsyncConnection) -> int:
        """Nothing to do: every insert trims its feed."""
        return 0

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()


def _unreachable(exc: BaseException) -> bool:
    """Whether an error means Redis cannot be reached (refused, reset, timed out), not a bad command."""
    return isinstance(exc, (OSError, TimeoutError)) or (
        type(exc).__module__.startswith("redis") and type(exc).__name__ in ("ConnectionError", "TimeoutError"))


def _guarded(method):
    @functools.wraps(method)
    async def call(*args, **kwargs):
        try:
            return await method(*args, **kwargs)
        except Exception as exc:
            if _unreachable(exc):
                raise FeedsUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc
            raise
    return call


# Every feed operation answers FeedsUnavailable when Redis is down, so callers can fall back or refuse cleanly.
for _name in ("freshness", "mark_built", "deliver", "add_entries", "page", "size", "holds", "remove_author",
              "remove_status", "clear", "trim"):
    setattr(RedisFeedStore, _name, _guarded(getattr(RedisFeedStore, _name)))
