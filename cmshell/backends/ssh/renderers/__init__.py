"""Renderers: pure functions from a node's effective configuration to desired files and actions.

One module per role. A renderer reads only what `RenderInput` gives it (the node's configuration,
other committed objects, the nodes that have a role) and does no I/O, so every one is tested
without a node. Files that must be merged with what the node has (a managed block, a manifest
edit) carry an `edit` function that the backend calls with the node's current content.
"""
from __future__ import annotations

from cmshell.backends.base import DesiredFile, NodeState, ServiceAction
from cmshell.backends.ssh.renderers import apiserverproxy, docker, etcd, firewall, generic, kubelet
from cmshell.backends.ssh.renderers.common import Renderer, RenderError, RenderInput  # noqa: F401 (RenderError: part of the API)

REGISTRY: dict[str, Renderer] = {
    "docker::host": docker.render, "etcd::host": etcd.render, "firewall": firewall.render,
    "kubernetes::apiserverproxy": apiserverproxy.render, "kubelet": kubelet.render}


def render_node(inp: RenderInput) -> NodeState:
    """Everything the node's roles render; a file two roles write is an error."""
    files: dict[str, DesiredFile] = {}
    actions: list[ServiceAction] = []
    for role in inp.node.roles:
        low = role.name.lower()
        fn = generic.render if low.startswith("generic::") else REGISTRY.get(low)
        if fn is None:
            continue          # roles that put no files on the node (e.g. boot, storage)
        got_files, got_actions = fn(inp, inp.with_defaults("roles", role.doc))
        for f in got_files:
            if f.path in files:
                raise RenderError(f"{f.path} is written by two roles ({role.name})")
            files[f.path] = f
        actions.extend(got_actions)
    return NodeState(inp.node.name, tuple(files.values()), tuple(actions))
