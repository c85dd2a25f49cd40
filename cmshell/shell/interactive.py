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
            session.run_line(line)
        except KeyboardInterrupt:          # clears the line; staged edits stay
            env.stdout.write("\n")
        except (EOFError, Quit):
            if confirm_quit(session, env):
                return 0


def confirm_quit(session, env) -> bool:
    """With uncommitted changes, ask once (unless -Q)."""
    pending = session.ws.pending()
    if not pending or not session.settings.quit_confirmation:
        return True
    try:
        answer = input(f"\nThere are {len(pending)} uncommitted changes; quit anyway? (yes/no) ")
    except (EOFError, KeyboardInterrupt):
        return True
    return answer.strip().lower() in ("y", "yes")
