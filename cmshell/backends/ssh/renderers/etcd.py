"""Etcd::Host + its etcd cluster -> /cm/local/apps/etcd/current/etc/cm-etcd.conf (then `etcd`
restart), in etcd's own configuration-file format (`etcd --config-file`), tables 4.2 and 4.3.

`$hostname` is the node's name, except in the listen URLs: etcd binds only to IP addresses
("expected IP in URL for binding"), so there it is the node's `ip`. The role's member certificate
overrides the cluster's; the initial cluster is every node that has the role for the same etcd
cluster.

The manual (section 4.9.1) names the file but not its format. It is written as etcd's own
configuration file, so the unit runs `etcd --config-file /cm/local/apps/etcd/current/etc/cm-etcd.conf`
(tests/backends/test_ssh_etcd.py starts Debian's etcd 3.4 exactly so)."""
from __future__ import annotations

from typing import Iterable

import yaml

from cmshell.backends.base import DesiredFile, ServiceAction
from cmshell.backends.ssh.renderers.common import RenderError, RenderInput, Rendered

PATH = "/cm/local/apps/etcd/current/etc/cm-etcd.conf"
ROLE = "Etcd::Host"


def _host(value: object, hostname: str) -> str:
    return str(value).replace("$hostname", hostname)


def _urls(values: Iterable[object] | None, hostname: str) -> str:
    return ",".join(_host(v, hostname) for v in (values or []))


def _listen(values: Iterable[object] | None, inp: RenderInput) -> str:
    urls = [str(v) for v in (values or [])]
    ip = str(inp.node.doc.get("ip") or "")
    if not ip and any("$hostname" in u for u in urls):
        raise RenderError(f"Etcd::Host: {inp.node.name} has no ip, and etcd listens on IP addresses only")
    return _urls(urls, ip)


def config(inp: RenderInput, role: dict) -> dict:
    name = inp.node.name
    cluster_name = str(role.get("etcdcluster") or "")
    cluster = inp.obj("etcd", cluster_name)
    if cluster is None:
        raise RenderError(f"Etcd::Host: no etcd cluster named {cluster_name!r}")
    cluster = inp.with_defaults("etcd", cluster)
    members = []
    for peer in inp.peers(ROLE):
        prole = inp.with_defaults("roles", peer.role(ROLE))
        if prole.get("etcdcluster") == cluster_name:
            members.append(f"{_host(prole['membername'], peer.name)}="
                           f"{_urls(prole['advertisepeersurls'], peer.name)}")
    conf: dict = {
        "name": _host(role["membername"], name),
        "data-dir": _host(role["spool"], name),
        "initial-cluster-token": cluster_name,
        "initial-cluster": ",".join(members),
        "initial-cluster-state": "new",
        "initial-advertise-peer-urls": _urls(role["advertisepeersurls"], name),
        "advertise-client-urls": _urls(role["advertiseclienturls"], name),
        "listen-client-urls": _listen(role["listenclienturls"], inp),
        "listen-peer-urls": _listen(role["listenpeerurls"], inp),
        "snapshot-count": int(role["snapshotcount"]),
        "election-timeout": int(cluster["electiontimeout"]),
        "heartbeat-interval": int(cluster["heartbeatinterval"]),
        "debug": bool(role["debug"]),
    }
    peer_cert = role.get("membercertificate") or cluster.get("membercertificate")
    peer_key = role.get("membercertificatekey") or cluster.get("membercertificatekey")
    if peer_cert or cluster.get("ca"):
        conf["peer-transport-security"] = {
            "cert-file": peer_cert, "key-file": peer_key, "trusted-ca-file": cluster.get("ca") or "",
            "client-cert-auth": bool(cluster.get("ca"))}
    if cluster.get("clientcertificate") or cluster.get("clientca"):
        conf["client-transport-security"] = {
            "cert-file": cluster.get("clientcertificate") or "",
            "key-file": cluster.get("clientcertificatekey") or "",
            "trusted-ca-file": cluster.get("clientca") or "",
            "client-cert-auth": bool(cluster.get("clientca"))}
    for option in role.get("options") or []:
        key, eq, value = str(option).lstrip("-").partition("=")
        conf[key] = yaml.safe_load(value) if eq else True
    return conf


def render(inp: RenderInput, role: dict) -> Rendered:
    text = "# Managed by cmshell: Etcd::Host\n" + yaml.safe_dump(config(inp, role), sort_keys=False)
    return ([DesiredFile(PATH, text.encode(), 0o644, mkdir=True)],
            [ServiceAction("etcd", "restart", after=(PATH,))])
