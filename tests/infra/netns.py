"""Put the test process into a network namespace of its own, with only `lo` up.

Backend tests start sshd nodes, etcd and a kube-apiserver and point cmshell at them. Inside a
private namespace nothing but loopback exists, so a bug (say, connecting to a demo device's
10.141.x.x address) fails at once instead of sending traffic off the machine. The namespace is
entered by the main thread before any other thread starts; threads and child processes created
afterwards inherit it.
"""
from __future__ import annotations

import ctypes
import os
import subprocess

CLONE_NEWNET = 0x40000000
_state: dict[str, str | bool] = {}


def enter_private_netns() -> None:
    """Enter a fresh network namespace (once per process); remember why when it is not possible."""
    if "entered" in _state:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        _state["entered"] = False
        _state["why"] = f"cannot create a private network namespace: {os.strerror(err)} (run as root)"
        return
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    _state["entered"] = True


def isolated() -> bool:
    return bool(_state.get("entered"))


def why_not() -> str:
    return str(_state.get("why", "the private network namespace was not entered"))
