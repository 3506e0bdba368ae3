"""Outbound URLs from outside input (subscriber endpoints, feeds and the pages they link to) must
not reach into our own network: loopback, private, link-local and cloud metadata addresses are
refused, when a URL is registered, again at each request, and at the connection itself: a
guarded client connects only to an address it has just checked, so a name that resolves to a
public address for the check and to a private one a moment later (DNS rebinding) gets nowhere."""

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import httpcore
import httpx

METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2",
                                               "100.100.100.200", "fd00:ec2::254")}


class UnsafeURL(ValueError):
    """A URL we will not send a request to."""


def forbidden_reason(address: str) -> str | None:
    """Why an IP address is off limits, or None when it is a public address. Pure."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


def public_address(host: str, port: int, resolve: Callable[..., list] = socket.getaddrinfo,
                   reason_for: Callable[[str], str | None] = forbidden_reason) -> str:
    """An address of `host` to connect to, when every address it resolves to is public."""
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"the host {host} does not resolve") from exc
    if not infos:
        raise UnsafeURL(f"the host {host} does not resolve")
    for info in infos:
        reason = reason_for(info[4][0])
        if reason:
            raise UnsafeURL(f"the host {host} resolves to {reason}")
    return infos[0][4][0]


class GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects to the address it checked. TLS still names and
    verifies the host, which httpcore passes to the handshake, not this address."""

    def __init__(self, resolve: Callable[..., list] = socket.getaddrinfo,
                 reason_for: Callable[[str], str | None] = forbidden_reason):
        self.resolve = resolve
        self.reason_for = reason_for

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            address = public_address(host, port, self.resolve, self.reason_for)
        except UnsafeURL as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


class GuardedAsyncBackend(httpcore.AnyIOBackend):
    """GuardedBackend for async clients (the host resolved in a thread)."""

    def __init__(self, resolve: Callable[..., list] = socket.getaddrinfo,
                 reason_for: Callable[[str], str | None] = forbidden_reason):
        self.resolve = resolve
        self.reason_for = reason_for

    async def connect_tcp(self, host, port, timeout=None, local_address=None,
                          socket_options=None):
        try:
            address = await asyncio.to_thread(public_address, host, port, self.resolve,
                                              self.reason_for)
        except UnsafeURL as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return await super().connect_tcp(address, port, timeout, local_address, socket_options)


def guarded_async_transport(allow_private: bool, limits: httpx.Limits
                            ) -> httpx.AsyncHTTPTransport:
    """`guarded_transport` for async clients."""
    transport = httpx.AsyncHTTPTransport(limits=limits)
    if not allow_private:
        transport._pool._network_backend = GuardedAsyncBackend()
    return transport


def guarded_transport(allow_private: bool, backend: httpcore.SyncBackend | None = None
                      ) -> httpx.HTTPTransport:
    """An httpx transport that connects only to public addresses (any, if `allow_private`)."""
    transport = httpx.HTTPTransport()
    if not allow_private:
        # httpx builds its connection pool without a way to pass the network backend in
        transport._pool._network_backend = backend or GuardedBackend()
    return transport


def check_url(url: str, allow_private: bool,
              resolve: Callable[..., list] = socket.getaddrinfo) -> None:
    """Raise UnsafeURL unless every address the URL's host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("only http and https URLs with a host are accepted")
    if allow_private:
        return
    public_address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                   resolve)
