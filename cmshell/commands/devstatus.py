"""`device status` / `ds`: each device as cmsh shows it, with what the SSH backend last saw."""
from __future__ import annotations

import time

from cmshell.shell.dispatch import command

WIDTH = 22
WORDS = {"ok": "UP", "changed": "UP", "failed": "UP", "unreachable": "DOWN"}


def line(name: str, state: dict | None, pending: int | None = None) -> str:
    """`node001 ............. [   UP   ]` plus the last apply and an out-of-sync mark (a failed
    apply, an action still owed, or a commit waiting for `sync` under apply: manual)."""
    word = WORDS.get(str((state or {}).get("status")), "UNKNOWN")
    text = f"{name} {'.' * max(3, WIDTH - len(name))} [ {word:^6} ]"     # [   UP   ], [ UNKNOWN ]
    if state:
        seen = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(float(state.get("seen") or 0)))
        text += f" revision {state.get('revision') or '-'}, seen {seen}"
    why = []
    if state and not state.get("in_sync"):
        owed = ", ".join(f"{a} {u}" for u, a in state.get("owed") or [])
        why.append(str(state.get("reason") or (owed + " owed" if owed else "not applied")))
    if pending is not None:
        why.append(f"commit {pending} pending (run sync)")
    if why:
        text += f"{',' if state else ''} out of sync: {'; '.join(why)}"
    return text


@command("status", "Show the state of devices as the SSH backend last saw them", scope="mode:device",
         usage=["status [<device> ...]"], examples=["status", "ds"], args=("object*",))
def status(s, args):
    names = list(args) or sorted(str(d) for d in s.ws.names("device"))
    states: dict[str, dict] = {}
    pending: dict[str, int] = {}
    engine = s.engine
    if engine is not None and engine.enabled and "ssh" in engine.names():
        states = engine.backend("ssh").observe(engine.context("ssh"), names)
        pending = engine.pending("ssh")
    for n in names:
        s.write(line(n, states.get(n), pending.get(n)))
