"""core.ids: time-ordered snowflakes, rendering and parsing."""

from __future__ import annotations

import threading
import time

from townsquare.core.ids import id_floor, new_id, parse_id, render_id


def test_ids_are_unique_and_increasing():
    made = [new_id() for _ in range(20000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_ids_embed_the_time():
    before = int(time.time() * 1000)
    value = new_id()
    after = int(time.time() * 1000)
    assert before <= value >> 16 <= after + 1
    assert 0 < value < 2**63


def test_explicit_time_gives_the_floor_of_that_millisecond():
    assert new_id(at_ms=1_700_000_000_000) == id_floor(1_700_000_000_000) == 1_700_000_000_000 << 16
    assert id_floor(5) < id_floor(6)


def test_ids_are_unique_across_threads():
    out: list[int] = []
    lock = threading.Lock()

    def work():
        mine = [new_id() for _ in range(2000)]
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 8000


def test_render_and_parse_round_trip():
    value = new_id()
    assert render_id(value) == str(value)
    assert parse_id(render_id(value)) == value
    assert parse_id(value) == value
    assert parse_id(" 42 ") == 42


def test_parse_rejects_non_ids():
    for bad in (None, "", "abc", "-1", "1.5", "1e3", "99999999999999999999", str(2**63), "１２", "²", "1²"):
        assert parse_id(bad) is None, bad
    assert parse_id(str(2**63 - 1)) == 2**63 - 1
