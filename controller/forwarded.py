"""Who a request comes from, for the rate limit: the peer's address, unless the peer is a proxy the
operator trusts (``--trusted-proxies``), and then the address that proxy saw.

``X-Forwarded-For`` is a list every proxy appends to; everything left of the hop our trusted proxy
appended was written by the client and proves nothing, so only the last entry is taken. A client
that reaches the controller directly cannot choose its key at all."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """Comma-separated CIDRs or single addresses; ValueError naming the bad one."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or CIDR") from None
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


class TrustedProxies:
    def __init__(self, networks: Iterable[Network] = ()):
        self.networks = tuple(networks)

    def trusts(self, peer: str) -> bool:
        address = _address(peer)
        return address is not None and any(address in n for n in self.networks)

    def client(self, peer: str, forwarded_for: Sequence[str] = ()) -> str:
        """The rate limit's key: ``peer``, or the last hop of ``X-Forwarded-For`` (all its
        header lines, in order) when ``peer`` is trusted and that hop is an IP address."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = [h for h in ",".join(forwarded_for).split(",") if h.strip()]
        last = _address(hops[-1]) if hops else None
        return str(last) if last is not None else peer
