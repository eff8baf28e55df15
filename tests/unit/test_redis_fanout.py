"""The batched Redis fan-out (many feeds per script call) leaves every feed as the one-call-per-feed script did."""

import uuid

import pytest

from tests.conftest import REDIS_URL, _drop_redis_prefix
from townsquare.timelines.feeds import Entry
from townsquare.timelines.redis_feeds import FEEDS_PER_CALL, RedisFeedStore


@pytest.fixture
async def stores():
    """Two stores on separate prefixes: one delivering with the batched script, one with the per-feed script."""
    prefixes = [f"tstest:{uuid.uuid4().hex[:10]}:" for _ in range(2)]
    made = [RedisFeedStore(REDIS_URL, prefix, limit=6) for prefix in prefixes]
    yield made
    for store in made:
        await store.close()
    for prefix in prefixes:
        _drop_redis_prefix(prefix)


async def one_by_one(store: RedisFeedStore, feeds: list[str], entry: Entry) -> list[str]:
    """The previous delivery: one ADD_SCRIPT call per feed."""
    pipe = store.redis.pipeline(transaction=False)  # pipelined for speed; still one call per feed, in order
    for feed in feeds:
        key = store._key(feed)
        await store.add_script(keys=[key, key + ":t"], args=[f"{entry.status_id:020d}", f"{entry.target_id:020d}", store.limit],
                               client=pipe)
    return [feed for feed, added in zip(feeds, await pipe.execute()) if added]


async def contents(store: RedisFeedStore, feed: str) -> tuple[list[bytes], list[bytes]]:
    key = store._key(feed)
    return await store.redis.zrange(key, 0, -1), await store.redis.zrange(key + ":t", 0, -1)


async def test_batched_fanout_matches_per_feed_script(stores):
    batched, reference = stores
    # More feeds than one script call takes, so the split between calls is exercised too.
    feeds = [f"home:{n}" for n in range(FEEDS_PER_CALL + 37)] + [f"list:{n}" for n in range(5)]
    # New statuses, reblogs of them (dropped where the original is shown), a repeat, and enough entries
    # to push the feeds past their limit of 6 so the trim runs; ids beyond 2^53 keep their exact order.
    base = 2**60
    entries = [Entry(base + n, 7) for n in range(1, 9)]
    entries += [Entry(base + 100, 8, reblog_of_id=base + 8), Entry(base + 101, 9, reblog_of_id=base + 50),
                Entry(base + 102, 9, reblog_of_id=base + 50), Entry(base + 8, 7)]
    for i, entry in enumerate(entries):
        # Some feeds miss some entries (as recipients differ per status), so feeds diverge.
        targets = [f for n, f in enumerate(feeds) if (n + i) % 5 != 0]
        got = await batched._add(targets, entry)
        expected = await one_by_one(reference, targets, entry)
        assert got == expected
    for feed in feeds:
        assert await contents(batched, feed) == await contents(reference, feed)
    first = await contents(batched, feeds[2])  # one that received both reblogs of base + 50
    assert len(first[0]) == 6  # trimmed to the limit, newest kept
    assert [int(m) for m in first[0]] == sorted(int(m) for m in first[0])
    assert f"{base + 101:020d}".encode() in first[0] and f"{base + 102:020d}".encode() not in first[0]
    assert await batched.page(None, feeds[2], None, None, None, 20) == await reference.page(None, feeds[2], None, None, None, 20)


async def test_deliver_reports_only_feeds_that_took_the_entry(stores):
    store, _ = stores
    await store._add(["home:1", "home:2"], Entry(10, 5))
    # home:1 already shows status 10, so a reblog of it is not added there; home:3 is new.
    assert await store._add(["home:1", "home:3"], Entry(11, 6, reblog_of_id=10)) == ["home:3"]
    assert await store.page(None, "home:1", None, None, None, 10) == [10]
    assert await store.page(None, "home:3", None, None, None, 10) == [11]
    assert await store._add([], Entry(12, 5)) == []


async def test_add_entries_in_one_round_trip_keeps_order_and_bound(stores):
    store, _ = stores
    entries = [Entry(n, 1) for n in (5, 3, 9, 1, 7, 2, 8, 4, 6)]
    await store.add_entries(None, "home:9", entries + [Entry(20, 2, reblog_of_id=9)])
    assert await store.page(None, "home:9", None, None, None, 20) == [9, 8, 7, 6, 5, 4]
