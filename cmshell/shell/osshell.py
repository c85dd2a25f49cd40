"""The OS shell: `!cmd`, `cmd | pipeline`, `cmd > file`, `cmd >> file`."""
from __future__ import annotations

import io
import subprocess


def _real_fd(stream) -> bool:
    """The stream is a file descriptor a child process can write to (not a StringIO)."""
    try:
        stream.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False


def _shell(session, command: str, *, input: str | None = None) -> int:
    """Run `command` with the session's environment and streams: `input` (else the session's
    stdin, when that is a file descriptor) in, output to the session's out and err."""
    out, err = session.out, session.err
    out.flush()
    err.flush()
    stdin = None if input is not None else (session.env.stdin if _real_fd(session.env.stdin)
                                            else subprocess.DEVNULL)
    proc = subprocess.run(command, shell=True, input=input, stdin=stdin, text=True,
                          env=dict(session.env.environ),
                          stdout=out if _real_fd(out) else subprocess.PIPE,
                          stderr=err if _real_fd(err) else subprocess.PIPE)
    if proc.stdout:
        out.write(proc.stdout)
    if proc.stderr:
        err.write(proc.stderr)
    return proc.returncode


def run(session, command: str) -> bool:
    command = command or session.env.shell
    if session.interactive:       # `!bash`, `!vi x`: the child owns the terminal
        session.out.flush()
        return subprocess.call(command, shell=True, env=dict(session.env.environ)) == 0
    return _shell(session, command) == 0


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
            with open(session.env.expand(path), "a" if op == ">>" else "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            session.error(f"Cannot write {path}: {e.strerror}")
            return False
    if cmd.pipe is not None:
        rc = _shell(session, cmd.pipe, input=text)
        ok = ok and rc in (0, 1)   # grep finding nothing is not a failure
    return ok

