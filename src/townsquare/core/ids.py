"""Time-ordered 64-bit snowflake ids rendered as fixed-width numeric strings."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_seq = int.from_bytes(os.urandom(2), "big")


def new_id(at_ms: int | None = None) -> int:
    """Return a new id: milliseconds since the epoch shifted left 16 bits, plus a sequence."""
    global _last_ms, _seq
    with _lock:
        ms = at_ms if at_ms is not None else int(time.time() * 1000)
        if at_ms is None and ms <= _last_ms:
            ms = _last_ms
            _seq = (_seq + 1) & 0xFFFF
            if _seq == 0:
                ms += 1
        elif at_ms is None:
            # A random start per millisecond keeps ids from separate processes apart.
            _seq = int.from_bytes(os.urandom(2), "big") & 0x7FFF
        if at_ms is None:
            _last_ms = ms
        return (ms << 16) | (_seq if at_ms is None else 0)


def id_floor(ms: int) -> int:
    """Return the smallest id that can belong to the given millisecond."""
    return ms << 16


def render_id(value: int) -> str:
    """Render an id the way the API shows it."""
    return str(value)


def parse_id(value: object) -> int | None:
    """Parse an id from a request value; None when it is not a valid id."""
    if value is None:
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:  # isdigit alone admits '²' and '１'
        return None
    number = int(text)
    return number if number < 2**63 else None
