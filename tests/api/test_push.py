"""Web Push: subscriptions per access token, VAPID keys, and encrypted delivery to a real push receiver on loopback."""

from __future__ import annotations

import json
from datetime import timezone

import jsonschema_rs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update

from tests.api.conftest import assert_error
from tests.push_receiver import PushReceiver, b64d, b64e
from townsquare.config import Settings
from townsquare.core.clock import now
from townsquare.services import auth
from townsquare.storage.tables import jobs, web_push_subscriptions

ALL_ALERTS = {"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
              "admin.sign_up", "admin.report"}


@pytest.fixture
async def push_server(make_server):
    """A server allowed to push to loopback, where the test's receiver listens."""
    return await make_server(push_allow_private_addresses=True)


@pytest.fixture
async def receiver(push_server):
    key = push_server.ctx.settings.vapid_public_key
    with PushReceiver(key) as r:
        yield r


def _form(sub: dict, alerts: dict | None = None, policy: str | None = None, standard: bool = True) -> dict:
    form = {"subscription[endpoint]": sub["endpoint"], "subscription[keys][p256dh]": sub["keys"]["p256dh"],
            "subscription[keys][auth]": sub["keys"]["auth"], "subscription[standard]": "true" if standard else "false"}
    for kind, on in (alerts or {}).items():
        form[f"data[alerts][{kind}]"] = "true" if on else "false"
    if policy:
        form["data[policy]"] = policy
    return form


async def _stored(server) -> list:
    async with server.ctx.db.read() as conn:
        return (await conn.execute(select(web_push_subscriptions))).all()


async def test_subscription_lifecycle_in_mastodons_shape(push_server, receiver):
    bob = await push_server.user("bob")
    sub = receiver.subscribe("bob")
    assert_error(await bob.get("/api/v1/push/subscription"), 404)
    r = await bob.post("/api/v1/push/subscription", data=_form(sub, {"mention": True, "favourite": True}, "followed"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"id", "endpoint", "standard", "alerts", "server_key", "policy"}
    assert body["endpoint"] == sub["endpoint"] and body["standard"] is True and body["policy"] == "followed"
    assert ALL_ALERTS <= set(body["alerts"]) and all(isinstance(v, bool) for v in body["alerts"].values())
    assert {k for k, v in body["alerts"].items() if v} == {"mention", "favourite"}
    assert body["server_key"] == push_server.ctx.settings.vapid_public_key
    assert (await bob.get("/api/v1/push/subscription")).json() == body
    # PUT replaces the alerts given and keeps what was not sent (here the policy).
    r = await bob.put("/api/v1/push/subscription", json={"data": {"alerts": {"follow": True, "mention": False}}})
    assert r.status_code == 200, r.text
    assert {k for k, v in r.json()["alerts"].items() if v} == {"follow"} and r.json()["policy"] == "followed"
    r = await bob.put("/api/v1/push/subscription", data={"data[policy]": "none"})
    assert r.json()["policy"] == "none" and r.json()["alerts"]["follow"] is True and r.json()["id"] == body["id"]
    assert (await bob.delete("/api/v1/push/subscription")).json() == {}
    assert_error(await bob.get("/api/v1/push/subscription"), 404)
    assert_error(await bob.put("/api/v1/push/subscription", data={"data[policy]": "all"}), 404)
    assert (await bob.delete("/api/v1/push/subscription")).status_code == 200  # nothing to delete is fine too
    assert await _stored(push_server) == []


def _reference_schema(name: str) -> dict:
    """An entity's schema from the reference Mastodon OpenAPI (shared/reference beside the checkout)."""
    from tests.api.test_fuzz import fuzz_script

    found = fuzz_script.reference_path()
    assert found is not None, fuzz_script.REFERENCE_CANDIDATES
    return json.loads(found.read_text())["components"]["schemas"][name]


async def test_entities_match_the_reference_openapi(push_server, receiver):
    bob = await push_server.user("bob")
    body = (await bob.post("/api/v1/push/subscription", data=_form(receiver.subscribe("bob"), {"poll": True}))).json()
    jsonschema_rs.validate(_reference_schema("WebPushSubscription"), body)
    with pytest.raises(jsonschema_rs.ValidationError):  # the check can fail: a missing alert is caught
        jsonschema_rs.validate(_reference_schema("WebPushSubscription"), {**body, "alerts": {"poll": True}})


async def test_one_subscription_per_access_token(push_server, receiver):
    bob = await push_server.user("bob")
    phone = await push_server.user("bob_phone")
    first = (await bob.post("/api/v1/push/subscription", json={"subscription": receiver.subscribe("a"),
                                                                   "data": {"alerts": {"mention": True}}})).json()
    second = (await bob.post("/api/v1/push/subscription", json={"subscription": receiver.subscribe("b")})).json()
    assert second["id"] != first["id"] and second["endpoint"].endswith("/b")
    assert second["alerts"]["mention"] is False and second["standard"] is False and second["policy"] == "all"
    await phone.post("/api/v1/push/subscription", json={"subscription": receiver.subscribe("c")})
    assert len(await _stored(push_server)) == 2
    assert (await bob.get("/api/v1/push/subscription")).json()["id"] == second["id"]


async def test_bad_subscriptions_are_refused_and_change_nothing(push_server, receiver):
    bob = await push_server.user("bob")
    sub = receiver.subscribe("bob")
    good = _form(sub)
    cases = [
        {k: v for k, v in good.items() if k != "subscription[endpoint]"},
        {**good, "subscription[endpoint]": "ftp://push.example/x"},
        {**good, "subscription[endpoint]": "not a url"},
        {**good, "subscription[keys][p256dh]": "AAAA"},
        {**good, "subscription[keys][p256dh]": b64e(b"\x04" + b"\x01" * 64)},  # not a point on the curve
        {**good, "subscription[keys][p256dh]": b64e(ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint))},  # valid, but not as browsers give it
        {**good, "subscription[keys][auth]": "c2hvcnQ"},
        {k: v for k, v in good.items() if k != "subscription[keys][auth]"},
        {**good, "data[policy]": "everyone"},
    ]
    for form in cases:
        assert_error(await bob.post("/api/v1/push/subscription", data=form), 422)
    assert_error(await bob.post("/api/v1/push/subscription", json={"subscription": "x"}), 422)
    assert_error(await bob.post("/api/v1/push/subscription", json={"subscription": sub, "data": {"alerts": [1]}}), 422)
    no_push = await push_server.user("carol", scopes="read write")
    assert_error(await no_push.post("/api/v1/push/subscription", data=good), 403)
    assert_error(await push_server.http.post("/api/v1/push/subscription", data=good), 401)
    assert await _stored(push_server) == []
    assert (await bob.post("/api/v1/push/subscription", data=good)).status_code == 200
    assert_error(await bob.put("/api/v1/push/subscription", data={"data[policy]": "bogus"}), 422)
    assert (await bob.get("/api/v1/push/subscription")).json()["policy"] == "all"


async def test_vapid_key_is_made_once_and_shown_to_apps(push_server, tmp_path):
    key = push_server.ctx.settings.vapid_public_key
    assert len(b64d(key)) == 65 and key.endswith("=")
    instance = (await push_server.http.get("/api/v2/instance")).json()
    assert instance["configuration"]["vapid"]["public_key"] == key
    app = (await push_server.http.post("/api/v1/apps", data={"client_name": "elk", "redirect_uris": auth.OOB,
                                                             "scopes": "read push"})).json()
    assert app["vapid_key"] == key
    bob = await push_server.user("bob")
    assert (await bob.get("/api/v1/apps/verify_credentials")).json()["vapid_key"] == key
    # Kept in the data dir: a restart (new settings object, same dir) keeps the key; another dir gets its own.
    again = Settings(data_dir=push_server.ctx.settings.data_dir)
    assert again.vapid_public_key == key
    assert (push_server.ctx.settings.data_dir / "vapid_private_key").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path / "other").vapid_public_key != key
    configured = Settings(data_dir=tmp_path / "third", vapid_private_key=again.effective_vapid_private_key)
    assert configured.vapid_public_key == key and not (tmp_path / "third" / "vapid_private_key").exists()


@pytest.mark.parametrize("standard", [True, False], ids=["aes128gcm", "legacy-aesgcm"])
async def test_a_mention_is_pushed_encrypted_with_mastodons_payload(push_server, receiver, standard):
    alice = await push_server.user("alice")
    bob = await push_server.user("bob")
    await alice.patch("/api/v1/accounts/update_credentials", data={"display_name": "Alice A."})
    sub = receiver.subscribe("bob")
    r = await bob.post("/api/v1/push/subscription", data=_form(sub, {"mention": True}, standard=standard))
    assert r.status_code == 200, r.text
    await alice.post("/api/v1/statuses", data={"status": "@bob are you there? " + "long " * 40})
    await push_server.settle()
    assert receiver.errors == []
    [message] = receiver.messages("bob")
    [notification] = (await bob.get("/api/v1/notifications")).json()
    assert receiver.received[0].encoding == ("aes128gcm" if standard else "aesgcm")
    assert set(message) == {"notification_id", "notification_type", "title", "body", "icon", "preferred_locale",
                            "access_token"}
    assert message["notification_id"] == notification["id"] and message["notification_type"] == "mention"
    assert message["title"] == "Alice A. mentioned you"
    assert message["body"].startswith("@bob are you there?") and len(message["body"]) <= 140
    assert message["icon"].startswith("http") and message["preferred_locale"]
    assert message["access_token"] == bob.token
    # The token the app gets back works for fetching the notification.
    r = await bob.http.get(f"/api/v1/notifications/{message['notification_id']}",
                           headers={"Authorization": f"Bearer {message['access_token']}"})
    assert r.status_code == 200 and r.json()["id"] == notification["id"]


async def test_the_token_is_not_stored_in_the_clear(push_server, receiver):
    bob = await push_server.user("bob")
    await bob.post("/api/v1/push/subscription", data=_form(receiver.subscribe("bob")))
    [row] = await _stored(push_server)
    assert bob.token not in " ".join(str(v) for v in row)


async def test_alerts_and_policies_choose_what_is_pushed(push_server, receiver):
    alice = await push_server.user("alice")
    carol = await push_server.user("carol")
    bob = await push_server.user("bob")
    await bob.post("/api/v1/push/subscription", data=_form(receiver.subscribe("bob"), {"follow": True, "favourite": True},
                                                            "followed"))
    own = (await bob.post("/api/v1/statuses", data={"status": "hello"})).json()
    await bob.post(f"/api/v1/accounts/{alice.id}/follow")
    await alice.post(f"/api/v1/statuses/{own['id']}/favourite")  # bob follows alice: pushed
    await carol.post(f"/api/v1/statuses/{own['id']}/favourite")  # bob does not follow carol: not pushed
    await alice.post(f"/api/v1/statuses/{own['id']}/reblog")  # reblog alert is off: not pushed
    await push_server.settle()
    assert [(m["notification_type"], m["title"]) for m in receiver.messages("bob")] == [
        ("favourite", "alice favourited your post")]
    assert receiver.messages("bob")[0]["body"] == "hello"
    await bob.put("/api/v1/push/subscription", data={"data[policy]": "follower"})
    await carol.post(f"/api/v1/accounts/{bob.id}/follow")  # carol follows bob: her follow is pushed
    await push_server.settle()
    assert [m["notification_type"] for m in receiver.messages("bob")] == ["favourite", "follow"]
    await bob.put("/api/v1/push/subscription", data={"data[policy]": "none"})
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    await push_server.settle()
    assert len(receiver.messages("bob")) == 2
    await bob.put("/api/v1/push/subscription", data={"data[policy]": "all"})
    dave = await push_server.user("dave")
    await dave.post(f"/api/v1/accounts/{bob.id}/follow")
    await push_server.settle()
    assert [m["title"] for m in receiver.messages("bob")][-1] == "dave followed you"
    assert receiver.errors == []


@pytest.mark.parametrize("answer", [410, 404])
async def test_a_gone_subscription_is_removed(push_server, receiver, answer):
    alice = await push_server.user("alice")
    bob = await push_server.user("bob")
    await bob.post("/api/v1/push/subscription", data=_form(receiver.subscribe("bob", [answer]), {"follow": True}))
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    await push_server.settle()
    assert receiver.hits == [("bob", answer)] and receiver.messages("bob") == []
    assert await _stored(push_server) == []
    assert_error(await bob.get("/api/v1/push/subscription"), 404)
    async with push_server.ctx.db.read() as conn:
        assert (await conn.execute(select(jobs).where(jobs.c.kind == "web_push"))).all() == []


async def _make_due(server) -> None:
    async with server.ctx.db.write() as conn:
        await conn.execute(update(jobs).where(jobs.c.kind == "web_push").values(run_at=now()))


@pytest.mark.parametrize("answers", [[500], [429, 503]])
async def test_a_busy_push_service_is_retried_until_it_takes_the_message(push_server, receiver, answers):
    alice = await push_server.user("alice")
    bob = await push_server.user("bob")
    await bob.post("/api/v1/push/subscription", data=_form(receiver.subscribe("bob", answers), {"follow": True}))
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    for attempt, answer in enumerate(answers, 1):
        await push_server.settle()
        assert receiver.hits[-1] == ("bob", answer)
        async with push_server.ctx.db.read() as conn:
            [job] = (await conn.execute(select(jobs).where(jobs.c.kind == "web_push"))).all()
        assert job.state == "ready" and job.attempts == attempt and str(answer) in job.last_error
        run_at = job.run_at if job.run_at.tzinfo else job.run_at.replace(tzinfo=timezone.utc)  # SQLite drops the zone
        assert run_at > now()  # backed off, not retried at once
        assert len(await _stored(push_server)) == 1  # kept
        await _make_due(push_server)
    await push_server.settle()
    assert [m["notification_type"] for m in receiver.messages("bob")] == ["follow"]
    async with push_server.ctx.db.read() as conn:
        assert (await conn.execute(select(jobs).where(jobs.c.kind == "web_push"))).all() == []


async def test_a_revoked_token_loses_its_subscription(push_server, receiver):
    alice = await push_server.user("alice")
    bob = await push_server.user("bob")
    await bob.post("/api/v1/push/subscription", data=_form(receiver.subscribe("bob"), {"follow": True}))
    async with push_server.ctx.db.write() as conn:
        await auth.revoke_token(conn, bob.token)
    await alice.post(f"/api/v1/accounts/{bob.id}/follow")
    await push_server.settle()
    assert receiver.hits == [] and await _stored(push_server) == []


async def test_private_push_endpoints_are_refused_by_default(server):
    """The default settings refuse to POST to loopback, so a subscription cannot be used to probe the server's network."""
    with PushReceiver(server.ctx.settings.vapid_public_key) as receiver:
        alice = await server.user("alice")
        bob = await server.user("bob")
        r = await bob.post("/api/v1/push/subscription", data=_form(receiver.subscribe("bob"), {"follow": True}))
        assert r.status_code == 200
        await alice.post(f"/api/v1/accounts/{bob.id}/follow")
        await server.settle()
        assert receiver.hits == []
    assert len(await _stored(server)) == 1
