"""Fetch an image by URL without letting the URL reach inside the network (SSRF-safe).

A search by URL makes the server fetch whatever a user names. :func:`fetch` therefore:

* accepts only ``http`` and ``https`` (``file:``, ``ftp:``, ``gopher:`` ... are refused
  before anything is resolved or connected);
* resolves the host itself and refuses loopback, private, link-local (``169.254.169.254``,
  the cloud metadata address), multicast, reserved, unspecified and other non-global
  addresses, IPv4 and IPv6 alike (IPv4-mapped, 6to4 and NAT64 IPv6 addresses are judged by
  the IPv4 address inside), unless ``allow_private``;
* connects to the very address it checked (the URL's host goes in the ``Host`` header and,
  for https, in TLS SNI and certificate checks), so a DNS answer that changes between the
  check and the connection (DNS rebinding) cannot redirect the request;
* follows at most :data:`MAX_REDIRECTS` redirects itself, checking each hop the same way;
* streams the body and stops past ``max_bytes``; bounds every network wait by ``timeout``
  and the whole fetch -- name lookup, connection, response head, body and every redirect --
  by one deadline (``total``, default ``4 * timeout``). The deadline is a cancel scope
  around the whole request, not a check between reads, so a server that drips its headers
  one byte at a time is cut off on time too.

:func:`fetch_async` is the same in an event loop (the web server awaits it, holding no
worker thread); :func:`fetch` runs it in a private event loop for synchronous callers.

Residual risks: the address check trusts the resolver's first answers (all of them must be
public, the first is used); proxies from the environment are ignored on purpose.
"""

from __future__ import annotations

import ipaddress
import math
import socket
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from lookalike.errors import LookalikeError, UsageError

__all__ = ["MAX_BYTES", "MAX_REDIRECTS", "FetchError", "check_address", "fetch", "fetch_async"]

MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_USER_AGENT = "lookalike (image search by example)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(LookalikeError):
    """A URL could not be fetched, or was refused; ``source`` is the URL."""


def _embedded_v4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 one (mapped, 6to4, NAT64), if any."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def check_address(addr: IPAddress) -> str | None:
    """Why ``addr`` must not be contacted from a server, or None when it is public."""
    inner = _embedded_v4(addr) if isinstance(addr, ipaddress.IPv6Address) else None
    if inner is not None:
        why = check_address(inner)
        return f"{why} (inside {addr})" if why else None
    for flag, why in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(addr, flag):
            return f"{addr} is {why}"
    if not addr.is_global:
        return f"{addr} is not a public address"
    return None


async def _resolve(url: str, host: str, port: int, allow_private: bool) -> IPAddress:
    """The address to connect to: a literal as is, else the resolver's; each one checked."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addrs: list[IPAddress] = [literal]
    else:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise FetchError(url, f"cannot resolve {host!r}: {exc}") from None
        addrs = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addrs:
            raise FetchError(url, f"{host!r} has no address")
    if not allow_private:
        for addr in addrs:
            why = check_address(addr)
            if why:
                raise FetchError(url, f"refused: {host} resolves to {why}")
    return addrs[0]


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or FetchError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError(url, f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(url, f"only http and https URLs are fetched, not {scheme or 'no'} scheme")
    if not parts.hostname:
        raise FetchError(url, "the URL has no host")
    if parts.username or parts.password:
        raise FetchError(url, "URLs with credentials are refused")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def fetch(
    url: str,
    *,
    max_bytes: int = MAX_BYTES,
    timeout: float = 10.0,
    total: float | None = None,
    allow_private: bool = False,
) -> tuple[str, bytes]:
    """Download ``url`` (http/https) safely: ``(final URL, content)``.

    ``timeout`` bounds each network wait, ``total`` (default ``4 * timeout``) the whole
    fetch. Raises :class:`FetchError` naming the URL and the reason: a refused scheme or
    address, too many redirects, an HTTP error status, a body over ``max_bytes``, a timeout.
    Must not be called from a running event loop: await :func:`fetch_async` there.
    """
    return anyio.run(
        lambda: fetch_async(
            url, max_bytes=max_bytes, timeout=timeout, total=total, allow_private=allow_private
        )
    )


async def fetch_async(
    url: str,
    *,
    max_bytes: int = MAX_BYTES,
    timeout: float = 10.0,
    total: float | None = None,
    allow_private: bool = False,
) -> tuple[str, bytes]:
    """:func:`fetch` for an event loop: the same checks, limits and deadline."""
    total = 4 * timeout if total is None else total
    if not (math.isfinite(total) and total > 0):
        raise UsageError("total must be a positive number of seconds")
    state = {"current": url}
    try:
        with anyio.fail_after(total):
            return await _fetch(url, state, max_bytes, timeout, allow_private)
    except TimeoutError:
        raise FetchError(
            state["current"], f"too slow: no complete answer within {total:g} s"
        ) from None


async def _fetch(
    url: str, state: dict[str, str], max_bytes: int, timeout: float, allow_private: bool
) -> tuple[str, bytes]:
    """The fetch itself, without the overall deadline (``state`` tracks the current hop)."""
    current = url
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            state["current"] = current
            scheme, host, port = _split(current)
            addr = await _resolve(current, host, port, allow_private)
            target = httpx.URL(current)
            connect = target.copy_with(host=str(addr))  # the checked address, no new lookup
            default_port = port == (443 if scheme == "https" else 80)
            headers = {
                "Host": host if default_port else f"{host}:{port}",
                "User-Agent": _USER_AGENT,
                "Accept": "image/*,*/*;q=0.5",
            }
            extensions = {"sni_hostname": host} if scheme == "https" else {}
            try:
                async with client.stream(
                    "GET", connect, headers=headers, extensions=extensions
                ) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(current, "a redirect without a Location")
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        raise FetchError(
                            current, f"HTTP {response.status_code} {response.reason_phrase}"
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(
                            current, f"too large: {int(declared)} bytes (limit {max_bytes})"
                        )
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchError(current, f"too large: over {max_bytes} bytes")
                        chunks.append(chunk)
                    return current, b"".join(chunks)
            except httpx.TimeoutException:
                raise FetchError(current, f"timed out after {timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise FetchError(current, f"cannot fetch: {exc}") from None
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")
