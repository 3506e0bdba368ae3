"""Outbound URLs from outside input (subscriber endpoints, feeds and the pages they link to) must
not reach into our own network: loopback, private, link-local and cloud metadata addresses are
refused, when a URL is registered and again at each request (DNS can change)."""

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

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


def check_url(url: str, allow_private: bool,
              resolve: Callable[..., list] = socket.getaddrinfo) -> None:
    """Raise UnsafeURL unless every address the URL's host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("only http and https URLs with a host are accepted")
    if allow_private:
        return
    try:
        infos = resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                        type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"the host {parts.hostname} does not resolve") from exc
    for info in infos:
        reason = forbidden_reason(info[4][0])
        if reason:
            raise UnsafeURL(f"the host {parts.hostname} resolves to {reason}")
