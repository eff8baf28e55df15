"""Web Push through Mastodon.py: it subscribes with its own keys and decrypts what our server pushes."""

from __future__ import annotations

import httpx
import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonNotFoundError

from tests.e2e.conftest import wait_for
from tests.e2e.test_mastodon_py import _logged_in
from tests.push_receiver import PushReceiver


def test_mastodon_py_subscribes_and_decrypts_a_pushed_follow(live_server):
    key = httpx.get(f"{live_server.url}/api/v2/instance").json()["configuration"]["vapid"]["public_key"]
    bob, bob_id, _ = _logged_in(live_server, "pushbob")
    alice, _, alice_name = _logged_in(live_server, "pushalice")
    with PushReceiver(key) as receiver:
        private, public = bob.push_subscription_generate_keys()
        endpoint = receiver.expect("bob")
        sub = bob.push_subscription_set(endpoint, public, follow_events=True, mention_events=True, policy="all")
        assert sub.endpoint == endpoint and sub.server_key == key and sub.policy == "all"
        assert sub.alerts.follow is True and sub.alerts.mention is True and sub.alerts.favourite is False
        assert bob.push_subscription().id == sub.id
        alice.account_follow(bob_id)
        assert wait_for(lambda: receiver.received, timeout=60)
        message = receiver.received[0]
        push = bob.push_subscription_decrypt_push(message.raw, private, message.headers["encryption"],
                                                  message.headers["crypto-key"])
        assert push.notification_type == "follow" and alice_name in push.title
        assert push.access_token == bob.access_token
        notification = Mastodon(access_token=push.access_token, api_base_url=live_server.url,
                                version_check_mode="none").notifications(id=push.notification_id)
        assert notification.type == "follow" and notification.account.username == alice_name
        updated = bob.push_subscription_update(follow_events=False, mention_events=True, policy="followed")
        assert updated.alerts.follow is False and updated.policy == "followed"
        bob.push_subscription_delete()
        with pytest.raises(MastodonNotFoundError):
            bob.push_subscription()
