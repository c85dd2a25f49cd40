"""A plain line-editing loop on a terminal (readline); the full prompt_toolkit shell replaces it."""
from __future__ import annotations

from cmshell.shell.session import Quit


def loop(session, env) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    while True:
        try:
            line = input(session.prompt())
        except EOFError:
            env.stdout.write("\n")
            return 0
        except KeyboardInterrupt:
            env.stdout.write("\n")
            continue
        try:
            session.run_line(line)
        except Quit:
            return 0
