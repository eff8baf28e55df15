"""Criticality classes of requests, told apart by method and path alone (no routing, no body, no I/O)."""

from __future__ import annotations

import re

EXEMPT = "exempt"  # health, metrics, long-lived streams: never limited, never timed
CRITICAL = "critical"  # speaker audio, host controls and HLS segments: counted, never shed
LISTEN = "listen"  # joins, heartbeats, playlists and segments, room reads
POST = "post"  # every other write
TIMELINE = "timeline"  # every other read
LOW = "low"  # search and trends: shed first

CLASSES = (CRITICAL, LISTEN, POST, TIMELINE, LOW)
# The share of the concurrency limit each class may fill: as work in flight rises, the lowest go first.
SHARES = {CRITICAL: float("inf"), LISTEN: 1.0, POST: 0.85, TIMELINE: 0.7, LOW: 0.4}

JOIN = re.compile(r"^/api/v1/spaces/([0-9]{1,20})/join$")
TICKET = re.compile(r"^/api/v1/spaces/([0-9]{1,20})/queue_ticket$")  # nginx's fetch of a room's place-in-line ticket
LINE = re.compile(r"^/api/v1/spaces/([0-9]{1,20})/queue_line$")  # nginx's check: may a slice of the line come in yet
_HOST_CONTROL = re.compile(
    r"^/api/v1/spaces/[0-9]+/(start|end|audio|speakers(/[0-9]+(/(mute|unmute))?)?|cohosts(/[0-9]+)?|speak_requests/[0-9]+)$")
# A segment never changes and a cache in front fetches it once for every listener (nginx, a CDN): refusing that
# one fetch only makes the cache ask again (and its waiters with it), so segments are never shed.
_SEGMENT = re.compile(r"^/spaces/[0-9]+/seg[0-9]+\.ts$")
_LISTEN = re.compile(r"^/api/v1/spaces/[0-9]+/(leave|reactions|speak_requests)$|^/spaces/[0-9]+/[A-Za-z0-9_.]+$")
_LOW_PREFIXES = ("/api/v2/search", "/api/v1/search", "/api/v1/accounts/search", "/api/v1/trends", "/api/v1/directory")
_EXEMPT_PREFIXES = ("/health", "/metrics", "/api/v1/streaming")


def classify(method: str, path: str) -> str:
    """Return the criticality class of a request from its method and path."""
    if path.startswith(_EXEMPT_PREFIXES):
        return EXEMPT
    if path.startswith("/api/v1/spaces") or path.startswith("/spaces/"):
        if JOIN.match(path):
            return LISTEN
        if _SEGMENT.match(path):
            return CRITICAL
        if method != "GET" and (path == "/api/v1/spaces" or _HOST_CONTROL.match(path)):
            return CRITICAL
        if method == "GET" or _LISTEN.match(path):
            return LISTEN
        return POST
    if path.startswith(_LOW_PREFIXES):
        return LOW
    return TIMELINE if method in ("GET", "HEAD") else POST
