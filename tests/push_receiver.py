"""A real push service on loopback for the tests: it holds a subscriber's keys and decrypts what it receives.

It plays the browser's push service and the browser at once: each subscription it hands out has its own P-256
key pair and auth secret; a POST is checked for VAPID (RFC 8292 `vapid t=,k=`, or the draft `WebPush` +
`Crypto-Key: p256ecdsa=` pair), decrypted with http_ece (aes128gcm, or legacy aesgcm with Encryption/Crypto-Key
headers) and its JSON kept. Answers can be scripted per subscription (e.g. 410, or 500 then 201).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64d(value: str) -> bytes:
    """Decode base64url with or without padding."""
    value = value.strip()
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64e(raw: bytes) -> str:
    """Encode base64url without padding, as browsers give their keys."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Received:
    """One push message as the subscriber's browser would see it."""

    name: str
    payload: dict
    encoding: str
    headers: dict
    vapid_claims: dict
    raw: bytes = b""


@dataclass
class _Subscriber:
    key: ec.EllipticCurvePrivateKey | None  # None: a client that decrypts itself (e.g. Mastodon.py) holds the key
    auth: bytes
    answers: list[int] = field(default_factory=list)


def _check_jwt(token: str, public_key: bytes) -> dict:
    """Verify an ES256 JWT against a raw P-256 point; return its claims."""
    header, claims, signature = token.split(".")
    raw = b64d(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)
    key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(b64d(header))["alg"] == "ES256"
    return json.loads(b64d(claims))


def _params(header: str) -> dict:
    """Parse `a=b;c=d` / `a=b, c=d` header parameters."""
    out = {}
    for part in header.replace(",", ";").split(";"):
        if "=" in part:
            k, v = part.strip().split("=", 1)
            out[k.strip()] = v.strip()
    return out


class PushReceiver:
    """An HTTP push service on 127.0.0.1 that decrypts and records messages, or answers what a test scripts."""

    def __init__(self, server_key: str) -> None:
        self.server_key = b64d(server_key)  # the instance's VAPID public key: every message must be signed by it
        self.subscribers: dict[str, _Subscriber] = {}
        self.received: list[Received] = []
        self.errors: list[str] = []
        self.hits: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._handle(self.path.strip("/"), dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> PushReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def subscribe(self, name: str, answers: list[int] | None = None) -> dict:
        """A new browser subscription: endpoint URL and keys as PushSubscription.toJSON() gives them."""
        sub = _Subscriber(ec.generate_private_key(ec.SECP256R1()), __import__("os").urandom(16), list(answers or []))
        self.subscribers[name] = sub
        point = sub.key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"{self.url}/{name}", "keys": {"p256dh": b64e(point), "auth": b64e(sub.auth)}}

    def expect(self, name: str) -> str:
        """An endpoint for a subscriber whose keys the client made: messages are checked for VAPID and kept raw."""
        self.subscribers[name] = _Subscriber(None, b"")
        return f"{self.url}/{name}"

    def _handle(self, name: str, headers: dict, body: bytes) -> int:
        headers = {k.lower(): v for k, v in headers.items()}
        sub = self.subscribers.get(name)
        with self._lock:
            status = (sub.answers.pop(0) if sub and sub.answers else 201) if sub else 404
            self.hits.append((name, status))
        if status != 201:
            return status
        try:
            encoding = headers.get("content-encoding", "")
            auth = headers.get("authorization", "")
            if sub.key is None:
                crypto = _params(headers.get("crypto-key", ""))
                vapid = _params(auth.removeprefix("vapid ")) if encoding == "aes128gcm" else {}
                claims = _check_jwt(vapid.get("t") or auth.removeprefix("WebPush ").strip(), self.server_key)
                self.received.append(Received(name, {}, encoding, headers, claims, body))
                return 201
            if encoding == "aes128gcm":
                vapid = _params(auth.removeprefix("vapid "))
                assert b64d(vapid["k"]) == self.server_key, "VAPID key is not the instance's"
                claims = _check_jwt(vapid["t"], self.server_key)
                plain = http_ece.decrypt(body, private_key=sub.key, auth_secret=sub.auth, version="aes128gcm")
            elif encoding == "aesgcm":
                crypto = _params(headers["crypto-key"])
                assert b64d(crypto["p256ecdsa"]) == self.server_key, "VAPID key is not the instance's"
                assert auth.startswith("WebPush ")
                claims = _check_jwt(auth.removeprefix("WebPush ").strip(), self.server_key)
                salt = _params(headers["encryption"])["salt"]
                plain = http_ece.decrypt(body, salt=b64d(salt), dh=b64d(crypto["dh"]), private_key=sub.key,
                                         auth_secret=sub.auth, version="aesgcm")
            else:
                raise AssertionError(f"unknown content encoding {encoding!r}")
            assert claims["aud"] == self.url and claims["exp"] > time.time() and claims["sub"]
            assert int(headers["ttl"]) > 0
            self.received.append(Received(name, json.loads(plain), encoding, headers, claims))
            return 201
        except Exception as exc:  # a malformed message is a test failure, reported through .errors
            self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
            return 400

    def messages(self, name: str) -> list[dict]:
        """The decrypted payloads a subscriber got, in order."""
        return [r.payload for r in self.received if r.name == name]
