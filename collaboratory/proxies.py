"""The real client address of a request, behind reverse proxies we were told to trust.

A deployment puts a TLS proxy (nginx, a load balancer) in front of the app, and then every
request's socket address (REMOTE_ADDR) is the proxy's. The proxy appends the address it saw
to ``X-Forwarded-For``; everything to the left of that was written by the client (or by
proxies we know nothing about) and can say anything.

So: only when REMOTE_ADDR is one of TRUSTED_PROXIES (addresses or networks, a setting read
from the environment, empty by default) is ``X-Forwarded-For`` read at all, and then from the
right: each entry written by a trusted proxy is skipped, and the first (right-most) address
that is not a trusted proxy is the client. Left-most entries a client made up are never
reached. Without trusted proxies the header is ignored and REMOTE_ADDR is the client.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def trusted_proxies_from(values: Iterable[str]) -> tuple[Network, ...]:
    """The networks of TRUSTED_PROXIES (``10.0.0.5``, ``10.1.0.0/16``, ``fd00::/8``); a value
    that is neither an address nor a network is a start-up error naming it and the fix."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {value!r} is not an IP address or network. Give the "
                "addresses of the reverse proxies in front of the app as a comma-separated "
                "list of addresses or CIDR networks, e.g. TRUSTED_PROXIES=10.0.0.5,"
                "192.168.10.0/24, or leave it empty when clients connect directly."
            ) from None
    return tuple(networks)


@functools.lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return trusted_proxies_from(values)


def parse_address(value: str) -> Address | None:
    """An address as a header or the socket gives it (``1.2.3.4``, ``1.2.3.4:5678``,
    ``[2001:db8::1]:443``, ``::ffff:1.2.3.4``), or None if it is none."""
    text = value.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(
    remote_addr: str | None, forwarded_for: str | None, trusted: Iterable[str]
) -> str | None:
    """The client's address: REMOTE_ADDR, or, when that is a trusted proxy, the right-most
    address of ``X-Forwarded-For`` that is not a trusted proxy (see the module docstring)."""
    current = parse_address(remote_addr or "")
    if current is None:
        return None
    networks = _networks(tuple(trusted))
    hops = [hop for hop in (forwarded_for or "").split(",") if hop.strip()]
    while hops and any(current in network for network in networks):
        previous = parse_address(hops.pop())
        if previous is None:
            # A trusted proxy always writes a valid address, so this came from beyond it:
            # the last hop we could trust is as far as we can see.
            break
        current = previous
    return str(current)
