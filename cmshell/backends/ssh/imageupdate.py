"""`imageupdate` on many nodes: what each node's software image and exclude lists are (from the
newest committed state), then the sync of imagesync.py per node, in parallel, each node under
the SSH backend's lock for it (an apply and an image update never write a node at once).

The store is read in the calling thread only; the threads only talk to their node.
"""
from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cmshell.backends.base import CHANGED, FAILED, OK, UNREACHABLE, Context
from cmshell.backends.ssh import imagesync
from cmshell.backends.ssh.backend import SshBackend, node_lock
from cmshell.backends.ssh.imagesync import DEFAULT_EXCLUDES, Entry, Excludes, Plan, Rule
from cmshell.model.effective import CATEGORY, Effective, NodeConfig
from cmshell.store.view import StoreView

SNIPPETS = "excludelistsnippets"
NOT_NODES = ("headnode", "switch", "powerdistributionunit", "genericdevice", "unmanagednode")


@dataclass
class Target:
    node: str
    image: str = ""
    root: str = ""          # the image's directory on this machine
    ip: str | None = None
    rules: tuple[Rule, ...] = ()
    error: str = ""         # why the node cannot be updated (then nothing else is set)


@dataclass
class NodeResult:
    node: str
    image: str
    status: str             # OK, CHANGED, FAILED, UNREACHABLE
    reason: str = ""
    plan: Plan | None = None


def targets(ctx: Context, nodes: list[str]) -> list[Target]:
    """Each node with its image, its image's directory and its exclude rules."""
    eff = Effective(ctx.schema, StoreView(ctx.store, ctx.schema))
    out = []
    for node in nodes:
        cfg = eff.node(node)
        if cfg is None:
            out.append(Target(node, error="no such device"))
            continue
        if str(cfg.doc.get("type", "")) in NOT_NODES:
            out.append(Target(node, error="is not provisioned from a software image "
                                          f"(a {cfg.doc.get('type')})"))
            continue
        image = str(cfg.value("softwareimage") or "")
        idoc = eff.get("softwareimage", image) if image else None
        if idoc is None:
            out.append(Target(node, error="has no software image" if not image
                              else f"software image {image} does not exist"))
            continue
        root = str(idoc.get("path") or "")
        if not root or not os.path.isdir(root):
            out.append(Target(node, image, error=f"software image {image}: directory "
                              f"{root or '(no path set)'} does not exist on this machine"))
            continue
        rules = snippet_rules(ctx, eff, cfg) + managed_rules(eff, node)
        rules += [r for r in (imagesync.rule(p, "cmshell's defaults") for p in DEFAULT_EXCLUDES) if r]
        out.append(Target(node, image, root, str(cfg.doc.get("ip") or "") or None, tuple(rules)))
    return out


def snippet_rules(ctx: Context, eff: Effective, cfg: NodeConfig) -> list[Rule]:
    """The exclude list snippets that apply to image updates: the category's, then those of
    the node's roles (own, category's, overlays'); `modeupdate` on and not `disabled`."""
    mode = ctx.schema.modes.get(SNIPPETS)
    defaults = {p.name: p.default for p in mode.params} if mode is not None else {}

    def on(snippet: dict, key: str) -> bool:
        return bool(snippet.get(key, defaults.get(key)))

    found: list[tuple[dict, str]] = []
    cat = eff.get(CATEGORY, cfg.category) if cfg.category else None
    for sn in (cat or {}).get(SNIPPETS) or []:
        found.append((sn, f"of category {cfg.category}"))
    for role in cfg.roles:
        for sn in (role.doc or {}).get(SNIPPETS) or []:
            found.append((sn, f"of role {role.name}"))
    out = []
    for sn, where in found:
        if on(sn, "disabled") or not on(sn, "modeupdate"):
            continue
        for pattern in sn.get("excludelist") or []:
            r = imagesync.rule(str(pattern), f"exclude list snippet {sn.get('name')} {where}",
                               nonewfiles=on(sn, "nonewfiles"))
            if r is not None:
                out.append(r)
    return out


def managed_rules(eff: Effective, node: str) -> list[Rule]:
    """The files the SSH backend renders for the node belong to the cluster's configuration,
    not to the image: an image update never overwrites them."""
    rendered = SshBackend._render(eff, node)
    if isinstance(rendered, str):
        return []
    return [Rule(re.compile("^" + re.escape(f.path) + "$"), False, False, "managed by the ssh backend")
            for f in rendered[0].files]


def update(ctx: Context, nodes: list[str], write: bool) -> list[NodeResult]:
    """Plan (and with `write`, carry out) the image update of each node; never raises for one
    node's failure."""
    from cmshell.backends.ssh.transport import RemoteError, Transport, Unreachable
    todo = targets(ctx, nodes)
    ready = [t for t in todo if not t.error]
    transport = Transport(ctx.settings, ctx.env) if ready else None
    trees: dict[str, dict[str, Entry]] = {}
    tree_lock = threading.Lock()

    def local(root: str) -> dict[str, Entry]:
        with tree_lock:                    # every node of an image shares one scan of it
            if root not in trees:
                trees[root] = imagesync.scan_local(root)
            return trees[root]

    def one(t: Target) -> NodeResult:
        if t.error:
            return NodeResult(t.node, t.image, FAILED, t.error)
        assert transport is not None
        try:
            conn = transport.connect(t.node, t.ip)
        except Unreachable as e:
            return NodeResult(t.node, t.image, UNREACHABLE, str(e))
        try:
            with node_lock(ctx, t.node):
                tree = local(t.root)
                tops = sorted({"/" + p.strip("/").split("/")[0] for p in tree})
                remote = imagesync.scan_remote(conn, tops)
                p = imagesync.plan(t.node, t.image, tree, remote, Excludes(t.rules))
                if write and p.changes:
                    imagesync.apply(conn, t.root, p, tree, remote)
            return NodeResult(t.node, t.image, CHANGED if p.changes else OK, plan=p)
        except RemoteError as e:
            return NodeResult(t.node, t.image, FAILED, str(e))
        except (OSError, EOFError) as e:        # the connection broke half-way
            return NodeResult(t.node, t.image, UNREACHABLE, f"connection lost: {e}")
        finally:
            conn.close()

    fanout = max(1, int(ctx.settings.get("fanout") or 64))
    with ThreadPoolExecutor(max_workers=max(1, min(fanout, len(todo)))) as pool:
        return list(pool.map(one, todo))
