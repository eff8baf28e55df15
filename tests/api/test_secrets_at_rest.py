"""Credentials at rest: Argon2id password hashes, tokens only as SHA-256 digests, revoked tokens refused at once."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from townsquare.services import auth
from townsquare.storage.tables import accounts, oauth_tokens


async def test_passwords_are_argon2id_and_tokens_are_digests(server):
    alice = await server.user("alice")
    async with server.ctx.db.read() as conn:
        password_hash = (await conn.execute(select(accounts.c.password_hash).where(accounts.c.id == int(alice.id)))).scalar_one()
        stored = [r.token_hash for r in (await conn.execute(select(oauth_tokens))).all()]
    assert password_hash.startswith("$argon2id$") and "correct horse" not in password_hash
    assert hashlib.sha256(alice.token.encode()).hexdigest() in stored
    assert all(alice.token not in value for value in stored)


async def test_revoked_token_stops_working_even_after_a_rate_limited_request(server):
    alice = await server.user("alice")
    assert (await alice.get("/api/v1/accounts/verify_credentials")).status_code == 200  # now cached by the limiter
    async with server.ctx.db.write() as conn:
        await auth.revoke_token(conn, alice.token)
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}
