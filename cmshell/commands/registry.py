"""Every command of cmshell: importing a family registers its commands (shell/dispatch.py's
@command); load() returns the Registry over all of them, for a Session to dispatch through."""
from __future__ import annotations

from cmshell.commands import (  # noqa: F401  (importing a family registers its commands)
    apply, bulk, devstatus, kubeconfig, kubelet, lists, navigation, objects, overview, provisioning,
    ranges, review, safety, scripting, staging, terminal)
from cmshell.shell.dispatch import HOOKS, Registry, defined


def load() -> Registry:
    return Registry(defined(), HOOKS)
