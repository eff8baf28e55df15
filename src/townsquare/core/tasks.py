"""Background loops that keep going through errors, yet always end when cancelled."""

from __future__ import annotations

import asyncio


def cancel_requested() -> bool:
    """Whether the running task has been asked to stop.

    A loop that logs and carries on after `except Exception` must ask this: a cancellation that arrives while
    a database driver is mid-statement can come back as the driver's own error (SQLAlchemy's asyncpg adapter
    wraps it), and the loop would otherwise go round for ever while its owner waits for it to end.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
