"""`device status` / `ds`: each device as cmsh shows it, with what the SSH backend last saw."""
from __future__ import annotations

import time

from cmshell.shell.dispatch import command

WIDTH = 22
WORDS = {"ok": "UP", "changed": "UP", "failed": "UP", "unreachable": "DOWN"}


def line(name: str, state: dict | None) -> str:
    """`node001 ............. [   UP   ]` plus the last apply and an out-of-sync mark."""
    word = WORDS.get(str((state or {}).get("status")), "UNKNOWN")
    text = f"{name} {'.' * max(3, WIDTH - len(name))} [{word:^8}]"
    if state:
        seen = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(float(state.get("seen") or 0)))
        text += f" revision {state.get('revision') or '-'}, seen {seen}"
        if not state.get("in_sync"):
            text += f", out of sync: {state.get('reason') or 'not applied'}"
    return text


@command("status", "Show the state of devices as the SSH backend last saw them", scope="mode:device",
         usage=["status [<device> ...]"], examples=["status", "ds"], args=("object*",))
def status(s, args):
    names = list(args) or sorted(str(d) for d in s.ws.names("device"))
    states: dict[str, dict] = {}
    engine = s.engine
    if engine is not None and engine.enabled and "ssh" in engine.names():
        states = engine.backend("ssh").observe(engine.context("ssh"), names)
    for n in names:
        s.write(line(n, states.get(n)))
