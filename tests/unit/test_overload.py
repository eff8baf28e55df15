"""The adaptive concurrency limit, the criticality classes and the waiting room, driven by fake clocks."""

from __future__ import annotations

import random

import pytest

from townsquare.overload.classes import CRITICAL, EXEMPT, LISTEN, LOW, POST, SHARES, TIMELINE, classify
from townsquare.overload.limiter import GradientLimiter
from townsquare.overload.waiting import MAX_HOLD, MIN_RETRY_AFTER, OPEN_FOR, PASS_TTL, BadToken, WaitingRoom


class Clock:
    """A clock that moves only when told."""

    def __init__(self, at: float = 1000.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def drive(limiter: GradientLimiter, clock: Clock, latency, windows: int, per_window: int = 20) -> None:
    """Run `windows` windows of requests of this latency (a number, or a function of the limit in force)."""
    for _ in range(windows):
        for _ in range(per_window):
            assert limiter.try_acquire(critical=True)
            value = latency(limiter) if callable(latency) else latency
            limiter.release(value)
        clock.at += limiter.window
    limiter.release(0.0)  # closes the last window (the extra release only keeps inflight at zero)


def make(clock: Clock, **kw) -> GradientLimiter:
    return GradientLimiter(initial=32, min_limit=8, max_limit=1000, recalc_every=1e9, clock=clock,
                           rng=random.Random(1), **kw)


def test_latency_at_the_baseline_grows_the_limit():
    clock = Clock()
    limiter = make(clock)
    drive(limiter, clock, 0.002, 2)  # the first window measures the baseline
    assert limiter.min_rtt == pytest.approx(0.002)
    before = limiter.limit
    drive(limiter, clock, 0.002, 10)
    assert limiter.limit > before * 2  # ~ +sqrt(L) per window, and more while the gradient is above 1


def test_queueing_latency_shrinks_the_limit_to_what_the_box_takes():
    clock = Clock()
    limiter = make(clock)
    drive(limiter, clock, 0.002, 20)
    grown = limiter.limit
    drive(limiter, clock, 0.010, 3)  # five times the baseline: requests are queueing
    assert limiter.limit < grown * 0.5
    # A CPU-bound server: latency rises in proportion to the work in flight (1 ms each).
    drive(limiter, clock, lambda lim: 0.001 * lim.limit, 60)
    assert limiter.limit == pytest.approx(limiter.min_limit, abs=3)


def test_the_limit_recovers_when_latency_falls_back():
    clock = Clock()
    limiter = make(clock)
    drive(limiter, clock, 0.002, 5)
    drive(limiter, clock, 0.050, 10)
    low = limiter.limit
    assert low == limiter.min_limit
    drive(limiter, clock, 0.002, 10)
    assert limiter.limit > low * 3


def test_the_baseline_is_measured_again_at_minimum_concurrency():
    clock = Clock()
    limiter = GradientLimiter(initial=32, min_limit=8, recalc_every=5.0, clock=clock, rng=random.Random(1))
    drive(limiter, clock, 0.002, 2)
    assert limiter.min_rtt == pytest.approx(0.002)
    limits, baselines = [], []
    for _ in range(60):  # a slower machine, past the recalculation time...
        drive(limiter, clock, 0.003, 1)
        limits.append(limiter.effective_limit())
        baselines.append(limiter.min_rtt)
    assert 8 in limits and max(limits) > 8  # measured for a window at the minimum, then back to the limit
    # ...the baseline follows it, rising by a quarter per re-measurement at most (a saturated process's
    # re-measurement holds the queue it follows: it must not let the limit run away)
    assert pytest.approx(0.0025) in baselines and max(baselines) <= 0.0025 + 1e-12
    for _ in range(60):
        drive(limiter, clock, 0.003, 1)
    assert limiter.min_rtt == pytest.approx(0.003)
    drive(limiter, clock, 0.100, 60)  # re-measured while everything queues: the limit is not let loose
    assert limiter.min_rtt < 0.003 * 1.25 ** 2 + 1e-9 and limiter.limit == limiter.min_limit
    for _ in range(60):  # a faster machine again: a lower baseline is taken at once
        drive(limiter, clock, 0.001, 1)
    assert limiter.min_rtt == pytest.approx(0.001)


def test_classes_are_shed_lowest_first_and_critical_never():
    clock = Clock()
    limiter = make(clock)
    drive(limiter, clock, 0.002, 2)
    limiter.limit = 20  # shares: low 8, timelines 14, posting 17, listening 20
    admitted = {k: 0 for k in (LISTEN, POST, TIMELINE, LOW)}
    for _ in range(40):  # fill the process with requests that do not finish
        for klass in (LOW, TIMELINE, POST, LISTEN):
            admitted[klass] += limiter.try_acquire(SHARES[klass])
    assert admitted == {LOW: 2, TIMELINE: 4, POST: 6, LISTEN: 8}  # offered in turn, four at a time
    assert limiter.inflight == 20
    assert not limiter.try_acquire(SHARES[LISTEN])
    assert all(limiter.try_acquire(SHARES[CRITICAL], critical=True) for _ in range(100))


@pytest.mark.parametrize("method,path,expected", [
    ("POST", "/api/v1/spaces/12/join", LISTEN),
    ("POST", "/api/v1/spaces/12/leave", LISTEN),
    ("GET", "/spaces/12/live.m3u8", LISTEN),
    ("GET", "/spaces/12/seg4.ts", CRITICAL),
    ("GET", "/api/v1/spaces/12", LISTEN),
    ("POST", "/api/v1/spaces/12/start", CRITICAL),
    ("POST", "/api/v1/spaces/12/end", CRITICAL),
    ("POST", "/api/v1/spaces", CRITICAL),
    ("POST", "/api/v1/spaces/12/speakers", CRITICAL),
    ("POST", "/api/v1/spaces/12/speakers/5/mute", CRITICAL),
    ("DELETE", "/api/v1/spaces/12/cohosts/5", CRITICAL),
    ("DELETE", "/api/v1/spaces/12/speak_requests/5", CRITICAL),
    ("POST", "/api/v1/spaces/12/speak_requests", LISTEN),
    ("POST", "/api/v1/statuses", POST),
    ("GET", "/api/v1/timelines/home", TIMELINE),
    ("GET", "/api/v2/search", LOW),
    ("GET", "/api/v1/trends/tags", LOW),
    ("GET", "/api/v1/accounts/search", LOW),
    ("GET", "/health", EXEMPT),
    ("GET", "/health/ready", EXEMPT),
    ("GET", "/metrics", EXEMPT),
    ("GET", "/api/v1/streaming/user", EXEMPT),
])
def test_classes_by_method_and_path(method, path, expected):
    assert classify(method, path) == expected


def test_first_come_first_served_and_early_retries_gain_nothing():
    clock = Clock()
    room = WaitingRoom("secret", clock=clock, rng=random.Random(2))
    assert room.decide(1, None, has_room=True).admit  # no line: straight in
    first = room.decide(1, None, has_room=False)  # full: into the line
    clock.at += 0.5
    second = room.decide(1, None, has_room=False)
    assert not first.admit and not second.admit and first.position == 0 and second.position == 1
    # The second arrival retries early and often; while the first has not been let in, it never is.
    _, second_at = room.verify(1, second.token)
    for _ in range(5):
        again = room.decide(1, second_at, has_room=False)
        assert not again.admit and again.position == 1 and room.verify(1, again.token)[1] == second_at
    # A retry without the token is a new arrival, behind both.
    clock.at += 0.5
    third = room.decide(1, None, has_room=False)
    assert third.position == 2
    # Room again: the line moves one slice per free slot, oldest first.
    _, first_at = room.verify(1, first.token)
    assert room.decide(1, first_at, has_room=True).admit
    _, third_at = room.verify(1, third.token)
    assert not room.decide(1, third_at, has_room=False).admit
    assert room.decide(1, second_at, has_room=True).admit
    assert room.decide(1, third_at, has_room=True).admit
    assert room.queue_length() == 0


def test_a_new_arrival_does_not_cut_in_line():
    clock = Clock()
    room = WaitingRoom("secret", clock=clock)
    waiting = room.decide(7, None, has_room=False)
    clock.at += 1
    late = room.decide(7, None, has_room=True)  # room now, but someone waits: the slot opens the line instead
    assert not late.admit and late.position == 0 and room.queue_length() == 1
    assert room.decide(7, room.verify(7, waiting.token)[1], has_room=True).admit


def test_forged_foreign_and_expired_tokens_are_refused():
    clock = Clock()
    room = WaitingRoom("secret", clock=clock)
    token = room.decide(1, None, has_room=False).token
    kind, stamp, nonce, mac = token.split(".")
    for bad in ("", "w.1.2", f"w.{int(stamp) - 60000}.{nonce}.{mac}", f"w.{stamp}.{nonce}.{'A' * len(mac)}",
                f"a.{stamp}.{nonce}.{mac}", "x" * 500):
        with pytest.raises(BadToken):
            room.verify(1, bad)
    with pytest.raises(BadToken):
        room.verify(2, token)  # another room
    with pytest.raises(BadToken):
        WaitingRoom("other secret", clock=clock).verify(1, token)
    clock.at += 3601
    with pytest.raises(BadToken):
        room.verify(1, token)
    admitted = room.issue(1, clock.at, kind="a")
    assert room.verify(1, admitted)[0] == "a"
    clock.at += 181
    with pytest.raises(BadToken):
        room.verify(1, admitted)


def test_retry_after_is_jittered_around_the_refresh():
    room = WaitingRoom("secret", rng=random.Random(3))
    values = {room.retry_after(10.0) for _ in range(200)}
    assert len(values) > 5 and min(values) >= 5 and max(values) <= 15


def test_retry_after_never_undercuts_the_proxys_per_token_interval():
    room = WaitingRoom("secret", rng=random.Random(4))
    assert min(room.retry_after(0.1) for _ in range(200)) == MIN_RETRY_AFTER  # nginx lets one retry in per 2 s
    decision = room.decide(9, None, has_room=False)
    assert decision.refresh >= MIN_RETRY_AFTER


def test_segments_are_never_shed_but_playlists_are_listening():
    assert classify("GET", "/spaces/12/seg40.ts") == CRITICAL  # one fetch behind the cache serves every listener
    assert classify("GET", "/spaces/12/live.m3u8") == LISTEN
    assert classify("GET", "/spaces/12/seg40.ts.bak") == LISTEN


def test_a_process_far_from_full_lets_newcomers_in_and_moves_the_line():
    clock = Clock()
    room = WaitingRoom("secret", clock=clock)
    waiting = room.decide(3, None, has_room=False)
    clock.at += 1
    assert room.decide(3, None, has_room=True, spare=True).admit  # the waiter is away: the slot is not wasted
    assert room.queue_length() == 0  # and the waiter's slice was let in with it
    assert room.decide(3, room.verify(3, waiting.token)[1], has_room=True).admit


def test_unsampled_releases_count_out_but_do_not_move_the_limit():
    clock = Clock()
    limiter = make(clock)
    drive(limiter, clock, 0.002, 2)
    before = limiter.limit
    for _ in range(50):  # slow host controls: counted in and out, not taken as a sign of load
        assert limiter.try_acquire(critical=True)
        clock.at += 0.05
        limiter.release(5.0, sample=False)
    assert limiter.limit == before and limiter.inflight == 0


def test_a_holders_mark_is_unsigned_and_changes_nothing_of_the_place():
    clock = Clock()
    room = WaitingRoom("secret", clock=clock)
    token = room.issue(5, clock.at)
    assert room.verify(5, token + ".0bbd5da3f818e0656a751fde078892a5") == room.verify(5, token)  # nginx's request id
    for bad in (token + ".", token + ".a-b", token + ".x.y", token + "." + "a" * 65, token + ".\u00e9t\u00e9"):
        with pytest.raises(BadToken):
            room.verify(5, bad)
    forged = token.split(".")
    forged[1] = str(int(forged[1]) - 60_000)  # an earlier arrival, whatever the mark, is a forgery
    with pytest.raises(BadToken):
        room.verify(5, ".".join(forged) + ".mark")


def test_the_line_check_passes_the_head_and_holds_the_rest_for_about_half_their_wait():
    clock = Clock()
    room = WaitingRoom("secret", clock=clock)
    assert room.line_verdict(4, clock.at) == (True, PASS_TTL)  # no line: nothing to hold back
    arrivals = []
    for count in (4, 20, 200, 1):  # four slices of the line, 0.3 s apart
        arrivals.append(clock.at)
        for _ in range(count):
            room.decide(4, None, has_room=False)
        clock.at += 0.3
    assert room.line_verdict(4, arrivals[0]) == (True, PASS_TTL)  # the head: nobody ahead
    assert room.line_verdict(4, arrivals[1]) == (True, PASS_TTL)  # 4 ahead: within the look-ahead (8 at the least)
    assert room.line_verdict(4, arrivals[2]) == (False, 1)  # 24 ahead: held, asked about again soon
    assert room.line_verdict(4, arrivals[3]) == (False, MAX_HOLD)  # 224 ahead at 16 a second: held longest
    # Free slots let the line in, one slice each: those let in pass whatever their number.
    for at in arrivals[:3]:
        assert room.decide(4, at, has_room=True).admit
    assert room.line_verdict(4, arrivals[2]) == (True, PASS_TTL)
    # The 221 let in and not come yet are still ahead of the last slice...
    assert room.line_verdict(4, arrivals[3])[0] is False
    clock.at += OPEN_FOR + 1  # ...until they are taken to have gone
    assert room.line_verdict(4, arrivals[3]) == (True, PASS_TTL)
    assert room.line_verdict(99, arrivals[3]) == (True, PASS_TTL)  # a room with no line here


def test_the_line_is_let_in_about_as_fast_as_it_comes_in():
    clock = Clock(1000.05)  # mid-slice, clear of float rounding at slice edges
    room = WaitingRoom("secret", clock=clock)
    tokens = []
    for _ in range(3):  # three slices of 40 waiting
        tokens.append(room.decide(8, None, has_room=False).token)
        for _ in range(39):
            room.decide(8, None, has_room=False)
        clock.at += 0.3
    first, second, third = (room.verify(8, t)[1] for t in tokens)
    assert room.decide(8, first, has_room=True).admit  # a free slot lets the first slice in (39 now let in, not come)
    assert not room.decide(8, second, has_room=True).admit  # 39 let in and not come: the next slice waits
    for _ in range(20):  # the first slice's waiters come in, even while the process is full: their turn has come
        assert room.decide(8, first, has_room=False).admit
    assert room.decide(8, second, has_room=True).admit  # 19 left to come: below the bound (32), the line moves on
    assert not room.decide(8, third, has_room=True).admit
    clock.at += OPEN_FOR + 1  # the rest of those let in never came: the line does not wait for them for ever
    assert room.decide(8, third, has_room=True).admit
