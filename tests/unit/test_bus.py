"""The event bus delivers to subscribers of a channel only, in-process and across Redis connections."""

import asyncio
import uuid

import pytest

from townsquare.timelines.bus import MemoryBus, RedisBus

REDIS_URL = "redis://127.0.0.1:6379/0"


async def next_message(sub, timeout=2.0):
    return await asyncio.wait_for(sub.__anext__(), timeout)


async def test_memory_bus_delivers_to_subscribed_channels_only():
    bus = MemoryBus()
    sub = await bus.subscribe(["timeline:1"])
    await bus.publish("timeline:2", {"event": "update", "payload": {"id": "x"}})
    await bus.publish("timeline:1", {"event": "update", "payload": {"id": "y"}})
    channel, message = await next_message(sub)
    assert channel == "timeline:1" and message["payload"]["id"] == "y"
    await sub.remove(["timeline:1"])
    await bus.publish("timeline:1", {"event": "delete", "payload": "1"})
    with pytest.raises(asyncio.TimeoutError):
        await next_message(sub, 0.1)
    await sub.close()
    assert bus.subscriber_count("timeline:1") == 0


async def test_memory_bus_slow_reader_keeps_newest():
    bus = MemoryBus()
    sub = await bus.subscribe(["c"])
    for i in range(1500):
        await bus.publish("c", {"n": i})
    first = await next_message(sub)
    assert first[1]["n"] == 500  # the 500 oldest were dropped, publishers never blocked


async def test_redis_bus_crosses_processes_connections():
    prefix = f"test-{uuid.uuid4().hex}:"
    publisher, listener = RedisBus(REDIS_URL, prefix), RedisBus(REDIS_URL, prefix)
    try:
        sub = await listener.subscribe(["timeline:public"])
        await asyncio.sleep(0.05)
        await publisher.publish("timeline:public", {"event": "update", "payload": {"id": "7"}})
        channel, message = await next_message(sub)
        assert channel == "timeline:public" and message == {"event": "update", "payload": {"id": "7"}}
        await sub.close()
    finally:
        await publisher.close()
        await listener.close()
