"""IP addresses of devices and the networks that hold them (pure; documents in, answers out).

cmsh puts a device added with an IP into the network whose range holds it (`add physicalnode
node100 10.141.0.100` → internalnet), gives a clone the next free address of its network
(BCM Administrator Manual §2.5.3: `clone node100 node101` gets 10.141.0.101), and refuses two
devices with one IP or MAC in a network.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable, Mapping

UNSET_IPS = ("", "0.0.0.0", "::")
UNSET_MAC = "00:00:00:00:00:00"


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def ip_of(text: object) -> Address | None:
    try:
        return ipaddress.ip_address(str(text or "").strip())
    except ValueError:
        return None


def subnet(net: dict) -> Network | None:
    """The address range of a network document (`baseaddress`/`netmaskbits`), or None."""
    try:
        return ipaddress.ip_network(f"{net.get('baseaddress')}/{int(net.get('netmaskbits') or 0)}",
                                    strict=False)
    except (TypeError, ValueError):
        return None


def network_of(ip: str, networks: Iterable[dict]) -> str | None:
    """The name of the network whose range holds `ip` (the narrowest one when ranges nest);
    a network of 0 bits (0.0.0.0/0, a "global" network) holds nothing."""
    addr = ip_of(ip)
    if addr is None or str(addr) in UNSET_IPS:
        return None
    best = None
    for net in networks:
        rng = subnet(net)
        if rng is None or rng.prefixlen == 0 or rng.version != addr.version or addr not in rng:
            continue
        if best is None or rng.prefixlen > best[0]:
            best = (rng.prefixlen, str(net.get("name", "")))
    return best[1] if best else None


def next_free(start: str, used: Iterable[str], net: dict | None) -> str | None:
    """The first address after `start` that no device uses, inside `net`'s range (skipping its
    network and broadcast addresses and its dynamic range); None when there is none. Without a
    network the search is not bounded by a range."""
    addr = ip_of(start)
    if addr is None:
        return None
    taken = {str(u) for u in used}
    rng = subnet(net) if net else None
    if rng is not None and addr not in rng:
        return None
    cand = addr
    for _ in range(1 << 20):
        try:
            cand = cand + 1
        except (ValueError, ipaddress.AddressValueError):
            return None
        if rng is not None:
            if cand not in rng:
                return None
            if cand == rng.broadcast_address or cand == rng.network_address:
                continue
        if _dynamic(cand, net):
            continue
        if str(cand) not in taken:
            return str(cand)
    return None


def usable(ip: str, used: Iterable[str], net: dict | None) -> bool:
    """Whether `ip` is free and inside `net`'s range (outside its dynamic range)."""
    addr = ip_of(ip)
    if addr is None or str(addr) in {str(u) for u in used}:
        return False
    rng = subnet(net) if net else None
    if rng is not None and (addr not in rng or addr in (rng.network_address, rng.broadcast_address)):
        return False
    return not _dynamic(addr, net)


def _dynamic(addr: Address, net: dict | None) -> bool:
    """Whether `addr` is in the network's dynamic (DHCP) range."""
    lo, hi = ip_of((net or {}).get("dynamicrangestart")), ip_of((net or {}).get("dynamicrangeend"))
    if lo is None or hi is None or not lo.version == hi.version == addr.version:
        return False
    return int(lo) <= int(addr) <= int(hi)


def duplicates(devices: Mapping[str, dict | None], names: Iterable[str]) -> list[tuple[str, str, str, str, str]]:
    """(field, value, name, other, network) for each device of `names` that shares its IP or
    MAC with another device of the same network; `devices` is every device by name as the store
    would hold it. Unset values (0.0.0.0, 00:00:00:00:00:00) are never duplicates."""
    index: dict[tuple[str, str, str], list[str]] = {}
    for name, doc in devices.items():
        if doc is None:
            continue
        net = str(doc.get("network") or "")
        ip = str(doc.get("ip") or "")
        if ip not in UNSET_IPS:
            index.setdefault(("ip", net, ip), []).append(name)
        mac = str(doc.get("mac") or "").upper()
        if mac and mac != UNSET_MAC:
            index.setdefault(("mac", net, mac), []).append(name)
    out = []
    for name in names:
        doc = devices.get(name)
        if doc is None:
            continue
        net = str(doc.get("network") or "")
        for field, value in (("ip", str(doc.get("ip") or "")), ("mac", str(doc.get("mac") or "").upper())):
            others = [o for o in index.get((field, net, value), []) if o != name]
            if others:
                out.append((field, str(doc.get(field) or ""), name, sorted(others)[0], net))
    return out


def same_base(a: str, b: str) -> bool:
    """Whether two names share cmsh's "base name": the same prefix and the same way of writing
    the number (`node001`/`node101`, `node9`/`node10`; not `node001`/`node02`)."""
    from cmshell.syntax.nodelist import split_number
    ma, mb = split_number(a), split_number(b)
    if not ma or not mb or ma[0] != mb[0]:
        return False
    da, db = ma[1], mb[1]
    padded = (len(da) > 1 and da[0] == "0") or (len(db) > 1 and db[0] == "0")
    return len(da) == len(db) or not padded


def clone_ips(source: str, ip: str, new: list[str], used: Iterable[str], net: dict | None, *,
              keep_on_mismatch: bool) -> dict[str, str | None]:
    """cmsh's guess of the IPs of clones of device `source` (address `ip`), one per new name: a
    clone with the source's base name gets the address moved by the difference of their numbers
    (node100 10.141.0.100 → node101 10.141.0.101), or the next free one when that is taken; another
    base name gets the next free address after the source's, or, with `keep_on_mismatch`
    (`foreach --clone` without --next-ip), None: the IP settings are not modified. "" when the
    network has no free address left."""
    from cmshell.syntax.nodelist import split_number
    taken = {str(u) for u in used}
    base = ip_of(ip)
    out: dict[str, str | None] = {}
    if base is None or str(base) in UNSET_IPS:
        return {}                    # nothing to guess from: the clones keep the (unset) IP
    src_num = split_number(source)
    for name in new:
        got: str
        num = split_number(name)
        if same_base(source, name) and num and src_num:
            cand: str | None
            try:
                cand = str(base + (int(num[1]) - int(src_num[1])))
            except (ValueError, ipaddress.AddressValueError):
                cand = None
            if cand is not None and usable(cand, taken, net):
                got = cand
            else:
                rng = subnet(net) if net else None
                start = cand if cand is not None and (rng is None or ip_of(cand) in rng) else str(base)
                got = next_free(start, taken, net) or ""
        elif keep_on_mismatch:
            out[name] = None
            continue
        else:
            got = next_free(str(base), taken, net) or ""
        if got:
            taken.add(got)
        out[name] = got
    return out
