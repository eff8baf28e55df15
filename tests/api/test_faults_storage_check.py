"""The `storage` readiness check and the error mapping other rooms (media, Spaces) raise through."""

from __future__ import annotations

import asyncio
import errno

from sqlalchemy import text

from townsquare.storage.faults import OUT_OF_STORAGE, StorageUnavailable, connection_failure, storage_failure


async def test_storage_check_is_registered_and_reports_read_only_until_a_trial_write_works(server):
    health = server.ctx.db.health
    assert health.check in server.app.state.readiness_checks
    ok = await health.check()
    assert ok["name"] == "storage" and ok["ok"] is True and ok["mode"] == "read-write"
    assert ok["free_bytes"] > 0
    health.probe_every = 0.05
    health.failed("SQLite: database or disk is full")
    down = await health.check()
    assert (down["ok"], down["mode"], down["reason"]) == (False, "read-only", "SQLite: database or disk is full")
    assert down["since"]
    for _ in range(200):  # the disk here has room: the probe's real write succeeds and the state recovers
        if (await health.check())["ok"]:
            break
        await asyncio.sleep(0.05)
    assert (await health.check())["ok"] is True and health.recovered_after is not None


async def test_a_read_only_transaction_maps_to_507_and_a_killed_connection_to_503(server):
    db = server.ctx.db
    try:
        async with db.write() as conn:
            if db.is_sqlite:
                await conn.execute(text("PRAGMA query_only = 1"))  # SQLite's read-only switch, per connection
            else:
                await conn.execute(text("SET TRANSACTION READ ONLY"))
            await conn.execute(text("INSERT INTO tags (id, name, created_at) VALUES (1, 'nope', CURRENT_TIMESTAMP)"))
    except StorageUnavailable as exc:
        assert exc.status == 507 and exc.body() == {"error": OUT_OF_STORAGE} and exc.headers["Retry-After"]
    else:
        raise AssertionError("the write in a read-only transaction went through")
    finally:
        if db.is_sqlite:
            async with db.read() as conn:  # the pooled connection goes back writable
                await conn.execute(text("PRAGMA query_only = 0"))
    assert not server.ctx.db.health.writable
    async with db.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM tags WHERE name = 'nope'"))).scalar() == 0
    if not db.is_sqlite:
        async with db.read() as conn:
            me = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
            async with db.engine.connect() as other:
                await other.execute(text(f"SELECT pg_terminate_backend({me})"))
            try:
                await conn.execute(text("SELECT 1"))
            except Exception as exc:
                gone = connection_failure(exc)
                assert gone is not None and gone.status == 503 and gone.headers["Retry-After"]
            else:
                raise AssertionError("the killed connection still answered")


def test_os_errors_of_a_full_or_read_only_disk_map_to_507_for_media_and_segments():
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        mapped = storage_failure(OSError(code, "no room"))
        assert mapped is not None and mapped.status == 507 and mapped.error == OUT_OF_STORAGE
    assert storage_failure(OSError(errno.ENOENT, "missing")) is None
    assert storage_failure(ValueError("bad input")) is None
