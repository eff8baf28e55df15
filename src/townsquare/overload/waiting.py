"""The waiting room of a Space's joins: first come, first served by a signed first-arrival token, no server write.

A join that finds the process full (or others already queued before it) gets a token signed with the
secret key over (room, first-arrival time, client nonce). Retrying with it keeps that arrival time, so
an early retry keeps its place and never gains a better one; a retry without it is a new, later arrival.
The process keeps only counts of arrivals per 100 ms slice per room (for positions and wait estimates)
and a cursor: tokens that arrived at or before the cursor are admitted when there is room. The cursor
moves on one slice whenever a slot is free that no admitted-through waiter took (work-conserving), so
waiters who gave up, or made-up tokens, never hold the line. With several processes each keeps its own
cursor; clients spread over them, so the order is first come, first served to within a slice or two.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import math
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

SLICE = 0.1  # seconds of arrivals counted together
MAX_WAIT = 3600.0  # a waiting token older than this is refused (join again without it)
ADMITTED_TTL = 180.0  # an admission token lets heartbeats through for this long after each join
MAX_ROOMS = 10_000
MIN_RETRY_AFTER = 2  # seconds; deploy/nginx-spaces.conf's per-token limit (30r/m) is built on it
# The line check nginx makes for waiting tokens (line_verdict): a slice passes when fewer are ahead of it than
# about LOOKAHEAD seconds of admissions (at least MIN_LOOKAHEAD joins); a held slice is asked about again after
# at most MAX_HOLD seconds, a passed one after PASS_TTL.
LOOKAHEAD = 0.5
MIN_LOOKAHEAD = 16.0
MAX_HOLD = 5
PASS_TTL = 5
# A free slot lets the next slice of the line in only while fewer than BACKLOG seconds of admissions (at least
# MIN_BACKLOG waiters) have been let in and not come yet; one let in and not come within OPEN_FOR seconds is
# taken to have gone (gave up, or joined through another process).
BACKLOG = 3.0
MIN_BACKLOG = 32
OPEN_FOR = 10.0


# A token may carry a fifth, unsigned part: a mark telling its holders apart. nginx hands one signed ticket per
# room per second to every newcomer it cannot pass to the app (deploy/nginx-spaces.conf) and appends each
# holder's own request id, so its per-token retry limit counts each holder, not the whole second's crowd. The
# mark buys nothing: the place in line is the signed arrival, the same for all the ticket's holders.
HOLDER = "holder"  # the mark the app writes into a ticket's body for nginx to replace


class BadToken(ValueError):
    """A token that is malformed, forged, for another room, or expired."""


@dataclass
class Decision:
    """What to do with one join: admit it, or answer with the waiting room (position, wait, token)."""

    admit: bool
    token: str | None = None
    arrival: float = 0.0
    position: int = 0
    wait: float = 0.0
    refresh: float = 0.0


class _Queue:
    """One room's waiting line in this process: arrivals per slice not yet admitted, and the admission cursor."""

    __slots__ = ("starts", "totals", "head", "popped", "cursor", "admitted", "rate", "stamp", "opened", "backlog")

    def __init__(self, now: float) -> None:
        self.starts: list[float] = []  # slice starts, oldest first; slices before `head` were let in
        self.totals: list[int] = []  # arrivals counted up to and including each slice (prefix sums)
        self.head = 0
        self.popped = 0  # arrivals in the slices let in
        self.cursor = -math.inf
        self.admitted = 0.0  # admissions since stamp, folded into rate
        self.rate = 0.0  # admissions per second (EWMA), for wait estimates
        self.stamp = now
        # Slices let in whose waiters have not all come in yet: [when let in, how many not yet in], oldest first,
        # and their sum. The line is let in only about as fast as it comes in (may_open), so the retries reaching
        # the app are mostly of waiters whose turn it is, not a crowd told "not yet" again and again.
        self.opened: deque[list] = deque()
        self.backlog = 0

    @property
    def waiting(self) -> int:
        return (self.totals[-1] if self.totals else 0) - self.popped

    def add(self, arrival: float) -> None:
        start = arrival - arrival % SLICE
        total = self.totals[-1] if self.totals else 0
        if len(self.starts) > self.head and self.starts[-1] >= start:
            self.totals[-1] = total + 1  # clocks of several processes: a late one joins the newest slice
        else:
            self.starts.append(start)
            self.totals.append(total + 1)

    def advance(self, now: float) -> None:
        self.cursor = max(self.cursor, self.starts[self.head] + SLICE)
        let_in = self.totals[self.head] - self.popped
        self.opened.append([now, let_in])
        self.backlog += let_in
        self.popped = self.totals[self.head]
        self.head += 1
        if self.head > 1024 and self.head * 2 > len(self.starts):  # drop what was let in, now and then
            del self.starts[:self.head], self.totals[:self.head]
            self.head = 0

    def ahead_of(self, arrival: float) -> int:
        index = bisect.bisect_right(self.starts, arrival - SLICE, self.head)  # slices wholly before this arrival's
        return (self.totals[index - 1] - self.popped) if index > self.head else 0

    def came_in(self) -> None:
        """A waiter of a slice let in was admitted."""
        opened = self.opened
        while opened and opened[0][1] <= 0:
            opened.popleft()
        if opened:
            opened[0][1] -= 1
            self.backlog -= 1

    def expire(self, now: float) -> None:
        """Forget waiters let in long ago who never came (gave up, or joined through another process)."""
        opened = self.opened
        while opened and (opened[0][1] <= 0 or opened[0][0] < now - OPEN_FOR):
            self.backlog -= max(0, opened.popleft()[1])

    def may_open(self, now: float) -> bool:
        """Let the next slice in on a free slot only while fewer than about BACKLOG seconds of admissions are let in
        and not yet come (each comes back once per Retry-After, 2-4 s): enough to keep the process busy."""
        self.expire(now)
        return self.backlog < max(self.rate * BACKLOG, MIN_BACKLOG)

    def note_admit(self, now: float) -> None:
        self.admitted += 1
        elapsed = now - self.stamp
        if elapsed >= 1.0:
            self.rate = 0.5 * self.rate + 0.5 * (self.admitted / elapsed)
            self.admitted, self.stamp = 0.0, now


class WaitingRoom:
    """Admission of joins per room, in order of signed first arrival."""

    def __init__(self, secret: str, clock: Callable[[], float] = time.time, rng: random.Random | None = None):
        self.key = hashlib.sha256(b"townsquare waiting room\0" + secret.encode()).digest()
        self.clock, self.rng = clock, rng or random.Random()
        self.rooms: dict[int, _Queue] = {}

    def _sign(self, kind: str, space_id: int, stamp_ms: int, nonce: str) -> str:
        mac = hmac.new(self.key, f"{kind}.{space_id}.{stamp_ms}.{nonce}".encode(), hashlib.sha256).digest()[:16]
        return f"{kind}.{stamp_ms}.{nonce}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    def issue(self, space_id: int, arrival: float, nonce: str | None = None, kind: str = "w") -> str:
        """Sign a token for this room: kind "w" carries a first arrival, "a" an admission."""
        nonce = nonce if nonce and len(nonce) <= 64 and nonce.isalnum() else secrets.token_hex(6)
        return self._sign(kind, space_id, round(arrival * 1000), nonce)  # round: a verified arrival signs back the same

    def verify(self, space_id: int, token: str) -> tuple[str, float]:
        """Return (kind, time) of a genuine, unexpired token for this room, or raise BadToken."""
        parts = token.split(".")
        if len(parts) == 5 and parts[4].isascii() and parts[4].isalnum() and len(parts[4]) <= 64:  # a holder's mark (see HOLDER), unsigned
            parts.pop()
        if len(parts) != 4 or parts[0] not in ("w", "a") or not parts[1].isdigit() or len(token) > 230:
            raise BadToken("malformed")
        kind, stamp_ms, nonce = parts[0], int(parts[1]), parts[2]
        if not hmac.compare_digest(self._sign(kind, space_id, stamp_ms, nonce), ".".join(parts)):
            raise BadToken("bad signature")
        stamp, now = stamp_ms / 1000, self.clock()
        if stamp > now + 5 or now - stamp > (MAX_WAIT if kind == "w" else ADMITTED_TTL):
            raise BadToken("expired")
        return kind, stamp

    def _queue(self, space_id: int, now: float) -> _Queue:
        queue = self.rooms.get(space_id)
        if queue is None:
            if len(self.rooms) >= MAX_ROOMS:
                self.rooms = {k: q for k, q in self.rooms.items() if q.waiting}
            queue = self.rooms[space_id] = _Queue(now)
        return queue

    def decide(self, space_id: int, arrival: float | None, has_room: bool, spare: bool = False,
               nonce: str | None = None) -> Decision:
        """Admit a join (arrival None: no waiting token) or place it in the line.

        has_room: the process can take a join now; spare: it is far from full, so a newcomer may come in even
        while others wait (they are away until their next retry; holding the slot for them would waste it).
        """
        now = self.clock()
        queue = self._queue(space_id, now)
        if arrival is None:
            if has_room and (spare or not queue.waiting):
                if queue.waiting and queue.may_open(now):
                    queue.advance(now)  # the line moves on too: its head comes in on its next try
                queue.note_admit(now)
                return Decision(True, arrival=now)
            if has_room and queue.may_open(now):
                queue.advance(now)  # a free slot while the line stands still: its head may come in on its next try
            arrival = now
            queue.add(arrival)
            return self._wait(queue, space_id, arrival, nonce)
        if has_room and arrival >= queue.cursor and queue.waiting and queue.may_open(now):
            queue.advance(now)  # a free slot no earlier waiter took: let the next slice in
        if arrival < queue.cursor:  # its turn has come: in, even past the limit (a refusal would cost about a quarter
            queue.came_in()           # of the join, and it comes back in 2-4 s; the slices let in are bounded)
            queue.note_admit(now)
            return Decision(True, arrival=arrival)
        if arrival >= queue.cursor and not queue.waiting:
            queue.add(arrival)  # this process had not seen the arrival (another process issued the token)
        return self._wait(queue, space_id, arrival, nonce)

    def _wait(self, queue: _Queue, space_id: int, arrival: float, nonce: str | None) -> Decision:
        position = queue.ahead_of(arrival) if arrival >= queue.cursor else 0
        rate = max(queue.rate, 1.0)
        wait = position / rate
        refresh = min(20.0, max(float(MIN_RETRY_AFTER), wait))
        return Decision(False, token=self.issue(space_id, arrival, nonce), arrival=arrival, position=position,
                        wait=wait, refresh=refresh)

    def line_verdict(self, space_id: int, arrival: float) -> tuple[bool, int]:
        """May retries of waiting tokens that arrived at `arrival` come to the app yet? (pass, seconds to keep it).

        The shipped nginx config asks this once per room and 100 ms slice of arrivals (GET .../queue_line) and
        keeps the answer as long as told, so the retries of a line that is not near its turn are answered by
        nginx ("still in line") and cost the app nothing. A slice passes once the cursor has reached it, or while
        fewer are ahead of it than this process lets in in about a second (LOOKAHEAD): those are the retries that
        move the line on (a free slot no earlier waiter took admits the next slice). A slice held back is asked
        about again after about half its estimated wait, at most MAX_HOLD seconds later.
        """
        queue = self.rooms.get(space_id)
        if queue is None or not queue.waiting or arrival < queue.cursor:
            return True, PASS_TTL
        queue.expire(self.clock())
        rate = max(queue.rate, MIN_LOOKAHEAD)
        ahead = queue.backlog + queue.ahead_of(arrival) - rate * LOOKAHEAD  # let in but not yet come count too
        if ahead <= 0:
            return True, PASS_TTL
        return False, max(1, min(MAX_HOLD, int(ahead / rate / 2)))

    def retry_after(self, refresh: float) -> int:
        """A jittered Retry-After in whole seconds around the refresh interval (so the crowd does not return in step).

        Never under MIN_RETRY_AFTER: the shipped nginx config lets one retry of a token through every that many
        seconds and answers earlier ones itself, so a client that does as it is told never meets that limit.
        """
        return max(MIN_RETRY_AFTER, round(refresh * (0.5 + self.rng.random())))

    def queue_length(self) -> int:
        """Joins waiting in this process, over all rooms."""
        return sum(q.waiting for q in self.rooms.values())
