"""Docker::Host -> /etc/docker/daemon.json (then `docker` restart).

Only keys dockerd knows, with the types it expects: dockerd refuses to start on an unknown key
or a wrong type, so an option that does not map is a render error, not a silent pass-through.
"""
from __future__ import annotations

import json

from cmshell.backends.base import DesiredFile, ServiceAction
from cmshell.backends.ssh.renderers.common import RenderError, RenderInput, Rendered

PATH = "/etc/docker/daemon.json"

# daemon.json keys that `options` may set: key -> type (dockerd's own documentation)
KNOWN: dict[str, type] = {
    "data-root": str, "debug": bool, "log-level": str, "bip": str, "bridge": str, "mtu": int,
    "hosts": list, "iptables": bool, "ip-forward": bool, "ip-masq": bool, "userns-remap": str,
    "insecure-registries": list, "registry-mirrors": list, "tls": bool, "tlsverify": bool,
    "tlscacert": str, "tlscert": str, "tlskey": str, "storage-driver": str, "storage-opts": list,
    "containerd": str, "default-runtime": str, "selinux-enabled": bool, "live-restore": bool,
    "log-driver": str, "max-concurrent-downloads": int, "max-concurrent-uploads": int,
    "dns": list, "dns-search": list, "dns-opts": list, "exec-opts": list, "labels": list,
    "default-address-pools": list, "experimental": bool, "icc": bool, "ipv6": bool,
    "fixed-cidr": str, "group": str, "shutdown-timeout": int, "userland-proxy": bool,
    "cgroup-parent": str, "oom-score-adjust": int, "init": bool, "metrics-addr": str,
}

# storage back end parameters -> storage option names (table 2.3)
DM_OPTS = {"loopdatasize": "dm.loopdatasize", "loopmetadatasize": "dm.loopmetadatasize",
           "loopdevicesize": "dm.basesize", "pooldevice": "dm.thinpooldev", "filesystem": "dm.fs",
           "blocksize": "dm.blocksize", "blkdiscard": "dm.blkdiscard", "mkfsarguments": "dm.mkfsarg",
           "mountoptions": "dm.mountopt"}


def _bool(v: object) -> bool:
    return v if isinstance(v, bool) else str(v).lower() in ("yes", "true", "1", "on")


def _ulimits(items: list) -> dict:
    """`nofile=1024:2048` -> {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}."""
    out = {}
    for item in items:
        name, _, limits = str(item).partition("=")
        soft, _, hard = limits.partition(":")
        try:
            out[name] = {"Name": name, "Soft": int(soft), "Hard": int(hard or soft)}
        except ValueError:
            raise RenderError(f"Docker::Host default ulimit {item!r} is not name=soft[:hard]") from None
    return out


def _option(conf: dict, option: str) -> None:
    key, eq, value = str(option).lstrip("-").partition("=")
    kind = KNOWN.get(key)
    if kind is None:
        raise RenderError(f"Docker::Host option {option!r} is not a dockerd setting")
    if kind is bool:
        conf[key] = _bool(value) if eq else True
    elif kind is int:
        try:
            conf[key] = int(value)
        except ValueError:
            raise RenderError(f"Docker::Host option {option!r} needs a number") from None
    elif kind is list:
        conf.setdefault(key, [])
        if value not in conf[key]:
            conf[key].append(value)
    else:
        conf[key] = value


def daemon_json(role: dict) -> dict:
    conf: dict = {"data-root": role["spool"], "selinux-enabled": _bool(role["enableselinux"]),
                  "debug": _bool(role["debug"]), "log-level": role["loglevel"],
                  "hosts": list(role["apisockets"]), "iptables": _bool(role["iptables"])}
    if role.get("defaultulimits"):
        conf["default-ulimits"] = _ulimits(role["defaultulimits"])
    for param, key in (("bridgeip", "bip"), ("bridge", "bridge"), ("usernamespaceremap", "userns-remap"),
                       ("containerdsocket", "containerd"), ("runtime", "default-runtime")):
        if role.get(param):
            conf[key] = str(role[param])
    if int(role.get("mtu") or 0):
        conf["mtu"] = int(role["mtu"])
    if role.get("insecureregistries"):
        conf["insecure-registries"] = list(role["insecureregistries"])
    if _bool(role["enabletls"]) or _bool(role["verifytls"]):
        conf["tls"] = True
        conf["tlsverify"] = _bool(role["verifytls"])
        for param, key in (("tlsca", "tlscacert"), ("tlscertificate", "tlscert"), ("tlskey", "tlskey")):
            if role.get(param):
                conf[key] = role[param]
    backends = role.get("storagebackends") or []
    if backends:
        b = backends[0]          # dockerd runs one storage driver: the first back end
        conf["storage-driver"] = str(b.get("type") or b.get("name"))
        opts = [f"{opt}={b[p]}" if not isinstance(b[p], bool) else f"{opt}={str(b[p]).lower()}"
                for p, opt in DM_OPTS.items() if b.get(p) not in (None, "")]
        opts += [str(o) for o in b.get("options") or []]
        if opts:
            conf["storage-opts"] = opts
    for option in role.get("options") or []:
        _option(conf, option)
    return conf


def render(inp: RenderInput, role: dict) -> Rendered:
    text = json.dumps(daemon_json(role), indent=2, sort_keys=True) + "\n"
    return ([DesiredFile(PATH, text.encode(), 0o644, mkdir=True)],
            [ServiceAction("docker", "restart", after=(PATH,))])
