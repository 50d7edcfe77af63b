"""The client address of a request: the one rule every throttle and log line uses.

The direct peer is the client unless FORWARDED_ALLOW_IPS lists it as a proxy; then
X-Forwarded-For is read from the right, skipping trusted proxies, and the first address
that is not one of them is the client. A value that is not an IP address ends the walk:
a client cannot pick its own address by sending garbage through a proxy that passes the
header on.
"""

from __future__ import annotations

import ipaddress
import logging

from starlette.requests import HTTPConnection

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_warned_about_server_rewrite = False


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: list[Network] | None) -> bool:
    return proxies is None or any(address in network for network in proxies)


def resolve_client_address(peer: str | None, forwarded_for: list[str], proxies: list[Network] | None) -> str | None:
    """The client's address from the direct ``peer`` and the X-Forwarded-For values.

    ``proxies`` is the list of trusted networks (an empty list trusts nobody; None trusts every peer).
    """
    peer_address = _parse(peer) if peer else None
    if peer_address is None:
        return peer
    if proxies == [] or not forwarded_for or not _trusted(peer_address, proxies):
        return str(peer_address)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    client = peer_address
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # garbage: the last trusted hop is as far as anything can be believed
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)


def client_address(connection: HTTPConnection) -> str | None:
    """The address of the client behind ``connection`` (see the module docstring)."""
    global _warned_about_server_rewrite
    proxies: list[Network] | None = connection.app.state.settings.trusted_proxies
    peer = connection.client.host if connection.client else None
    forwarded_for = connection.headers.getlist("x-forwarded-for")
    if proxies == [] and forwarded_for and connection.client is not None and connection.client.port == 0:
        # uvicorn already replaced the peer with a forwarded address (its --proxy-headers is on
        # by default for 127.0.0.1); that address came from the request, so it counts for nothing.
        if not _warned_about_server_rewrite:
            _warned_about_server_rewrite = True
            logger.warning(
                "the server rewrote the client address from X-Forwarded-For; run uvicorn with "
                "--no-proxy-headers and list your proxies in FORWARDED_ALLOW_IPS (see README)"
            )
        return None
    return resolve_client_address(peer, forwarded_for, proxies)
