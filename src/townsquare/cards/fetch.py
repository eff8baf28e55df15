"""Fetching a page for a link preview safely: http(s) only, public addresses only, bounded time, size and redirects."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from functools import lru_cache

import httpx

USER_AGENT = "Townsquare link preview (+https://joinmastodon.org/ compatible)"
REDIRECT_CODES = (301, 302, 303, 307, 308)


class FetchRefused(Exception):
    """The page was not fetched: a refused address or scheme, too big, too many redirects, or a network failure."""


@dataclass
class FetchPolicy:
    """Limits of one fetch: seconds per connect/read, bytes read, redirects followed, private addresses allowed."""

    timeout: float = 5.0
    max_bytes: int = 1_048_576
    max_redirects: int = 3
    allow_private: tuple[str, ...] = ()  # addresses or networks exempt from the public-address rule ("*": all)

    @classmethod
    def allowing(cls, networks: str, **limits) -> "FetchPolicy":
        """A policy exempting a comma-separated list of addresses/networks from the public-address rule."""
        return cls(allow_private=tuple(n.strip() for n in networks.split(",") if n.strip()), **limits)


@dataclass
class Page:
    """What a fetch brought back: the final URL, its media type and the body (at most max_bytes)."""

    url: str
    content_type: str
    body: bytes


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every fetch: building one loads the CA bundle (~0.2 s)."""
    return httpx.create_ssl_context()


def _is_public(address: str, exempt: tuple[str, ...] = ()) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    if "*" in exempt or any(ip in ipaddress.ip_network(n, strict=False) for n in exempt if n != "*"):
        return True
    return ip.is_global and not ip.is_multicast


async def resolve_public(host: str, port: int, allow_private: tuple[str, ...] = ()) -> str:
    """Resolve a host name and return one address to connect to, refusing any non-global address."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise FetchRefused(f"no address for {host}")
    # Every address must pass: a name resolving to one public and one private address is refused.
    if not all(_is_public(a, allow_private) for a in addresses):
        raise FetchRefused(f"{host} resolves to a non-public address")
    return addresses[0]


def _check_url(url: httpx.URL) -> None:
    if url.scheme not in ("http", "https"):
        raise FetchRefused(f"scheme {url.scheme!r} is not fetched")
    if not url.host:
        raise FetchRefused("no host")


async def _one_hop(client: httpx.AsyncClient, url: httpx.URL, policy: FetchPolicy, accept: str) -> tuple[httpx.Response, bytes]:
    """Request one URL pinned to its checked address (no second DNS answer can point elsewhere)."""
    _check_url(url)
    port = url.port or (443 if url.scheme == "https" else 80)
    address = await resolve_public(url.host, port, policy.allow_private)
    host_header = url.host if url.port is None else f"{url.host}:{url.port}"
    if ":" in url.host and url.port is None:
        host_header = f"[{url.host}]"
    pinned = url.copy_with(host=address)
    request = client.build_request("GET", pinned, headers={"Host": host_header, "Accept": accept, "User-Agent": USER_AGENT},
                                   extensions={"sni_hostname": url.host})
    response = await client.send(request, stream=True)
    try:
        if response.status_code in REDIRECT_CODES:
            return response, b""
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > policy.max_bytes:
            raise FetchRefused(f"page of {declared} bytes is over the {policy.max_bytes} byte cap")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > policy.max_bytes:
                raise FetchRefused(f"page is over the {policy.max_bytes} byte cap")
        return response, bytes(body)
    finally:
        await response.aclose()


async def fetch(url: str, policy: FetchPolicy, accept: str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1") -> Page:
    """GET a URL under the policy, following at most max_redirects redirects, each one checked again."""
    timeout = httpx.Timeout(policy.timeout, connect=policy.timeout, read=policy.timeout)
    current = httpx.URL(url)
    try:
        # One deadline for the whole chain too: a server trickling bytes or redirecting slowly cannot hold the job.
        async with asyncio.timeout(policy.timeout * 2), \
                httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls()) as client:
            for _hop in range(policy.max_redirects + 1):
                response, body = await _one_hop(client, current, policy, accept)
                if response.status_code in REDIRECT_CODES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchRefused("redirect without a location")
                    current = current.join(location)
                    continue
                if response.status_code != 200:
                    raise FetchRefused(f"answered {response.status_code}")
                content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                return Page(url=str(current), content_type=content_type, body=body)
    except (httpx.HTTPError, asyncio.TimeoutError, OSError, ValueError) as exc:
        raise FetchRefused(f"fetch failed: {type(exc).__name__}: {exc}") from exc
    raise FetchRefused(f"more than {policy.max_redirects} redirects")
