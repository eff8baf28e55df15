"""Sealing small secrets at rest with AES-GCM under a key derived from the server's secret key."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _key(secret_key: str, purpose: str) -> bytes:
    # One derived key per purpose, so a sealed value of one kind cannot be replayed as another.
    return hashlib.sha256(f"townsquare:{purpose}:{secret_key}".encode()).digest()


def seal(secret_key: str, purpose: str, plaintext: str) -> str:
    """Encrypt and authenticate a short string; return it as base64url text."""
    nonce = os.urandom(12)
    box = AESGCM(_key(secret_key, purpose)).encrypt(nonce, plaintext.encode(), purpose.encode())
    return base64.urlsafe_b64encode(nonce + box).decode()


def unseal(secret_key: str, purpose: str, sealed: str) -> str | None:
    """Decrypt a sealed string; None when it was sealed under another key or tampered with."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(_key(secret_key, purpose)).decrypt(raw[:12], raw[12:], purpose.encode()).decode()
    except Exception:  # InvalidTag, bad base64, short input: all mean "not ours"
        return None
