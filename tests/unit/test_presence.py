"""Listener presence counts each listener once until it leaves or its heartbeat expires, in memory and in Redis."""

import asyncio
import uuid

import pytest

from townsquare.config import Settings
from townsquare.spaces.live import LiveRooms
from townsquare.spaces.presence import MemoryPresence, RedisPresence
from townsquare.spaces.reactions import ReactionCounter, RedisReactionTotals, TokenBucket, normalise
from townsquare.timelines.bus import MemoryBus

REDIS_URL = "redis://127.0.0.1:6379/0"


def presences(ttl: float):
    return [MemoryPresence(ttl), RedisPresence(REDIS_URL, f"test:{uuid.uuid4().hex}:", ttl)]


@pytest.mark.parametrize("kind", [0, 1], ids=["memory", "redis"])
async def test_presence_counts_distinct_listeners_and_leaves(kind):
    presence = presences(30)[kind]
    try:
        for listener in ("a", "b", "c", "a"):
            await presence.touch(1, listener)
        await presence.touch(2, "a")
        assert await presence.count(1) == 3 and await presence.count(2) == 1
        await presence.leave(1, "b")
        await presence.leave(1, "nobody")
        assert await presence.count(1) == 2
        await presence.clear(1)
        assert await presence.count(1) == 0 and await presence.count(2) == 1
        assert await presence.count(99) == 0
    finally:
        await presence.clear(2)
        await presence.close()


@pytest.mark.parametrize("kind", [0, 1], ids=["memory", "redis"])
async def test_presence_expires_without_heartbeat(kind):
    presence = presences(0.2)[kind]
    try:
        await presence.touch(1, "gone")
        await presence.touch(1, "stays")
        for _ in range(3):
            await asyncio.sleep(0.1)
            await presence.touch(1, "stays")  # the heartbeat keeps this one counted
        assert await presence.count(1) == 1
    finally:
        await presence.clear(1)
        await presence.close()


async def test_redis_presence_is_shared_between_processes_and_prefixed():
    prefix = f"test:{uuid.uuid4().hex}:"
    one, two = RedisPresence(REDIS_URL, prefix, 30), RedisPresence(REDIS_URL, prefix, 30)
    try:
        await one.touch(7, "x")
        await two.touch(7, "y")
        assert await one.count(7) == 1  # the other process's heartbeat is still in its buffer
        for _ in range(100):  # until its flusher has written it, a few hundredths of a second later
            if await one.count(7) == 2:
                break
            await asyncio.sleep(RedisPresence.FLUSH_DELAY)
        assert await one.count(7) == 2 == await two.count(7)
        keys = [k.decode() async for k in one.redis.scan_iter(match=f"{prefix}*")]
        assert keys == [f"{prefix}space:7:listeners"]
        assert 0 < await one.redis.ttl(keys[0]) <= 61
    finally:
        await one.clear(7)
        await one.close()
        await two.close()


async def test_listener_count_is_sampled_not_read_on_every_call():
    live = LiveRooms(Settings(spaces_count_interval=3600), MemoryBus())
    await live.join(1, "a")
    assert await live.listener_count(1) == 1
    await live.join(1, "b")
    assert await live.listener_count(1) == 1  # the sample is still fresh
    assert await live.listener_count(1, fresh=True) == 2


async def test_tick_sends_one_reactions_message_per_room_and_changed_counts():
    bus = MemoryBus()
    live = LiveRooms(Settings(spaces_count_interval=0), bus)
    sub = await bus.subscribe(["space:1", "space:2"])
    for emoji in ["👍"] * 500 + ["🔥"] * 3:
        live.react(1, emoji)
    live.react(2, "💯")
    await live.join(1, "a")
    await live.tick()
    got = [await asyncio.wait_for(sub.__anext__(), 1) for _ in range(3)]
    by_type = {(ch, m["payload"]["type"]): m["payload"]["data"] for ch, m in got}
    assert by_type == {
        ("space:1", "reactions"): {"👍": 500, "🔥": 3},
        ("space:2", "reactions"): {"💯": 1},
        ("space:1", "listener_count"): {"listener_count": 1},
    }
    await live.tick()  # nothing new: no reactions, and an unchanged count is not repeated
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(sub.__anext__(), 0.1)
    await sub.close()


def test_reaction_names_and_counter():
    assert normalise("👍") == "👍" and normalise("❤") == "❤️" and normalise("clap") == "👏"
    assert normalise("💩") is None and normalise("") is None
    counter = ReactionCounter()
    counter.add(1, "👍")
    counter.add(1, "👍")
    assert counter.take() == {1: {"👍": 2}} and counter.take() == {}


def test_token_bucket_sheds_beyond_its_burst():
    bucket = TokenBucket(rate=5, burst=5)
    assert [bucket.allow() for _ in range(7)] == [True] * 5 + [False] * 2
    assert all(TokenBucket(rate=0).allow() for _ in range(100))


async def test_reactions_from_several_processes_make_one_message_per_tick():
    prefix, bus = f"test:{uuid.uuid4().hex}:", MemoryBus()
    settings = Settings(spaces_count_interval=3600, spaces_reaction_tick=60)
    one, two = (LiveRooms(settings, bus, MemoryPresence(30), RedisReactionTotals(REDIS_URL, prefix)) for _ in range(2))
    sub = await bus.subscribe(["space:5"])
    try:
        for _ in range(3):
            one.react(5, "👍")
        two.react(5, "👍")
        two.react(5, "🔥")
        await two.tick()  # adds its counts and wins this tick's lock: it publishes the shared totals
        await one.tick()  # adds its counts; the lock is taken, so it publishes nothing
        _, first = await asyncio.wait_for(sub.__anext__(), 1)
        assert first["payload"]["data"] == {"👍": 1, "🔥": 1}
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sub.__anext__(), 0.1)
        await one.shared_reactions.redis.delete(one.shared_reactions.lock_key)  # the next tick
        await one.tick()
        _, second = await asyncio.wait_for(sub.__anext__(), 1)
        assert second["payload"]["data"] == {"👍": 3}
        keys = [k.decode() async for k in one.shared_reactions.redis.scan_iter(match=f"{prefix}*")]
        assert keys == [f"{prefix}spaces:reactions-lock"]
    finally:
        await sub.close()
        await one.shared_reactions.redis.delete(one.shared_reactions.lock_key)
        await one.close()
        await two.close()
