"""Rate limit rules, client keys and the in-process fixed-window counter."""

import pytest

from townsquare.ratelimit.limiter import MemoryRateLimiter
from townsquare.ratelimit.rules import DEFAULTS, Rule, build_rules, client_ip, client_key, matching, parse_networks, parse_rule


def test_defaults_are_mastodons():
    rules = build_rules({})
    assert {n: (r.limit, r.period) for n, r in rules.items()} == {
        "unauthenticated": (300, 300), "token": (300, 300), "user": (1500, 300), "sign_up": (5, 1800),
        "sign_in": (25, 300), "deletes": (30, 1800), "media": (30, 1800)}
    assert set(DEFAULTS) == set(rules)


def test_overrides_and_bad_values():
    assert build_rules({"media": "10/1h", "token": None})["media"] == Rule("media", 10, 3600)
    assert parse_rule("x", "7/90") == Rule("x", 7, 90)
    for bad in ("", "ten/5m", "5/0", "5/5w", "-1/5m"):
        with pytest.raises(ValueError):
            parse_rule("x", bad)


def test_client_keys_group_ipv6_by_64():
    assert client_key("2001:db8:a:b:1:2:3:4") == client_key("2001:db8:a:b::9") == "2001:db8:a:b::/64"
    assert client_key("2001:db8:a:c::1") != client_key("2001:db8:a:b::1")
    assert client_key("::ffff:192.0.2.1") == client_key("192.0.2.1") == "192.0.2.1"
    assert client_key("not an ip") == "not an ip"


def test_forwarded_for_only_from_trusted_proxies():
    trusted = parse_networks("127.0.0.1, ::1, 10.0.0.0/8")
    assert client_ip("127.0.0.1", "198.51.100.1", trusted) == "198.51.100.1"
    assert client_ip("203.0.113.5", "198.51.100.1", trusted) == "203.0.113.5"
    # The nearest untrusted hop wins: a client cannot hide behind an address it prepends itself.
    assert client_ip("127.0.0.1", "1.2.3.4, 198.51.100.1, 10.1.1.1", trusted) == "198.51.100.1"
    assert client_ip("127.0.0.1", None, trusted) == "127.0.0.1"


def test_matching_routes():
    rules = build_rules({})

    def names(method, path, token=None, account=None):
        return [(rule.name, key) for rule, key in matching(rules, method, path, "192.0.2.1", token, account)]
    assert names("GET", "/api/v1/instance") == [("unauthenticated", "ip:192.0.2.1")]
    assert names("GET", "/api/v1/instance", 5, 7) == [("token", "token:5"), ("user", "user:7")]
    assert ("sign_up", "ip:192.0.2.1") in names("POST", "/api/v1/accounts", 5)
    assert names("POST", "/oauth/authorize") == [("sign_in", "ip:192.0.2.1")]
    assert ("deletes", "user:7") in names("DELETE", "/api/v1/statuses/123", 5, 7)
    assert ("deletes", "user:7") in names("POST", "/api/v1/statuses/123/unreblog", 5, 7)
    assert ("deletes", "user:7") not in names("DELETE", "/api/v1/statuses/123/pin", 5, 7)
    assert ("media", "user:7") in names("POST", "/api/v2/media", 5, 7)
    assert names("GET", "/oauth/authorize") == [] and names("GET", "/static/x.png") == []


async def test_memory_window_resets_at_the_period_boundary():
    now = [1000.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    rule = Rule("r", 2, 60)
    counts = [(await limiter.hit([(rule, "k")]))[0] for _ in range(3)]
    assert [d.allowed for d in counts] == [True, True, False]
    assert counts[0].reset_at == 1020.0 and counts[2].remaining == 0
    assert (await limiter.hit([(rule, "other")]))[0].allowed
    now[0] = 1020.0
    assert (await limiter.hit([(rule, "k")]))[0].count == 1
    now[0] = 5000.0
    await limiter.hit([])
    assert all(reset > 5000.0 for _, reset in limiter.counts.values())


async def test_redis_counters_are_shared_and_prefixed():
    import uuid

    import redis.asyncio as redis

    from townsquare.ratelimit.limiter import RedisRateLimiter

    prefix = f"test-{uuid.uuid4().hex}:"
    one, two = RedisRateLimiter("redis://127.0.0.1:6379/0", prefix), RedisRateLimiter("redis://127.0.0.1:6379/0", prefix)
    rule = Rule("r", 3, 86400)  # a day-long window: no boundary falls between the three hits in practice
    try:
        counts = [(await limiter.hit([(rule, "k"), (Rule("s", 9, 86400), "k")]))[0].count for limiter in (one, two, one)]
        assert counts == [1, 2, 3]
        client = redis.from_url("redis://127.0.0.1:6379/0")
        keys = [k.decode() async for k in client.scan_iter(f"{prefix}*")]
        assert len(keys) == 2 and all(k.startswith(f"{prefix}ratelimit:") for k in keys)
        assert 0 < await client.ttl(keys[0]) <= 86405
        await client.delete(*keys)
        await client.aclose()
    finally:
        await one.close()
        await two.close()


async def test_unreachable_redis_lets_requests_through():
    from townsquare.ratelimit.limiter import RedisRateLimiter

    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", "test:")
    try:
        [decision] = await limiter.hit([(Rule("r", 1, 60), "k")])
        assert decision.allowed and decision.remaining == 1
    finally:
        await limiter.close()
