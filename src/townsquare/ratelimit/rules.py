"""Which limits apply to a request, with Mastodon's defaults (config/initializers/rack_attack.rb)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

PERIOD_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# name -> "LIMIT/PERIOD"; each can be overridden with TOWNSQUARE_RATE_LIMIT_<NAME>.
DEFAULTS = {
    "unauthenticated": "300/5m",  # every /api/ request without a valid token, per client IP (IPv6 per /64)
    "token": "300/5m",  # every /api/ request, per access token
    "user": "1500/5m",  # every /api/ request, per account (all of its tokens together)
    "sign_up": "5/30m",  # POST /api/v1/accounts, per client IP
    "sign_in": "25/5m",  # the sign-in form and the password grant, per client IP
    "deletes": "30/30m",  # deleting or un-reblogging statuses, per account
    "media": "30/30m",  # media uploads, per account
}

_DELETE_STATUS = re.compile(r"^/api/v1/statuses/[^/]+$")
_UNREBLOG = re.compile(r"^/api/v1/statuses/[^/]+/unreblog$")
_MEDIA = re.compile(r"^/api/v\d+/media$")


@dataclass(frozen=True)
class Rule:
    """A named limit: at most `limit` hits per fixed window of `period` seconds."""

    name: str
    limit: int
    period: int


def parse_rule(name: str, text: str) -> Rule:
    """Parse "300/5m" (limit per period; period in s, m, h or d, seconds when bare) into a Rule."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*([smhd]?)\s*", text or "")
    if not match or int(match.group(2)) <= 0:
        raise ValueError(f"rate limit {name!r} must look like 300/5m, not {text!r}")
    return Rule(name, int(match.group(1)), int(match.group(2)) * PERIOD_UNITS[match.group(3) or "s"])


def build_rules(overrides: dict[str, str | None]) -> dict[str, Rule]:
    """Return every rule, taking a configured "LIMIT/PERIOD" over the default where one is given."""
    return {name: parse_rule(name, overrides.get(name) or default) for name, default in DEFAULTS.items()}


def client_key(ip: str) -> str:
    """Return the throttling key of a client address: IPv4 as is, IPv6 grouped by its /64."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "unknown"
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    if addr.version == 6:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: list) -> str:
    """Return the client address: the peer, or the nearest untrusted hop of X-Forwarded-For from a trusted proxy."""
    peer = peer or ""
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _is_trusted(ip: str, trusted: list) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in trusted if addr.version == net.version)


def parse_networks(text: str) -> list:
    """Parse a comma-separated list of addresses or networks."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in (text or "").split(",") if part.strip()]


def matching(rules: dict[str, Rule], method: str, path: str, ip: str, token_id: int | None,
             account_id: int | None) -> list[tuple[Rule, str]]:
    """Return the (rule, key) pairs a request counts against, before it is handled."""
    out: list[tuple[Rule, str]] = []
    ip_key = client_key(ip)
    if path.startswith("/api/"):
        if token_id is None:
            out.append((rules["unauthenticated"], f"ip:{ip_key}"))
        else:
            out.append((rules["token"], f"token:{token_id}"))
            if account_id is not None:
                out.append((rules["user"], f"user:{account_id}"))
    if method == "POST" and path == "/api/v1/accounts":
        out.append((rules["sign_up"], f"ip:{ip_key}"))
    if method == "POST" and path == "/oauth/authorize":
        out.append((rules["sign_in"], f"ip:{ip_key}"))
    if account_id is not None:
        if (method == "DELETE" and _DELETE_STATUS.match(path)) or (method == "POST" and _UNREBLOG.match(path)):
            out.append((rules["deletes"], f"user:{account_id}"))
        if method == "POST" and _MEDIA.match(path):
            out.append((rules["media"], f"user:{account_id}"))
    return out
