"""The OS shell: `!cmd`, `cmd | pipeline`, `cmd > file`, `cmd >> file`."""
from __future__ import annotations

import io
import os
import subprocess
import sys


def run(session, command: str) -> bool:
    session.out.flush()
    if not command:
        command = os.environ.get("SHELL", "/bin/sh")
    rc = subprocess.call(command, shell=True)
    return rc == 0


def capture(session, cmd, runner) -> bool:
    """Run cmshell command words with their output captured, then pipe or write it."""
    buf = io.StringIO()
    saved, session.out = session.out, buf
    try:
        ok = runner(cmd.words)
    finally:
        session.out = saved
    text = buf.getvalue()
    if cmd.redirect is not None:
        op, path = cmd.redirect
        try:
            with open(os.path.expanduser(path), "a" if op == ">>" else "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            session.error(f"Cannot write {path}: {e.strerror}")
            return False
    if cmd.pipe is not None:
        session.out.flush()
        proc = subprocess.run(cmd.pipe, shell=True, input=text, text=True,
                              stdout=None if session.out is sys.stdout else subprocess.PIPE)
        if proc.stdout is not None:
            session.out.write(proc.stdout)
        ok = ok and proc.returncode in (0, 1)   # grep finding nothing is not a failure
    return ok

