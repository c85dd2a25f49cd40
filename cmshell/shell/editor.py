"""`set <blob>` without a value: edit the content in $VISUAL / $EDITOR (fallback vi)."""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile

from cmshell.errors import CommandError


def edit_text(session, current: str, name: str) -> str | None:
    """The edited text, or None when the save left it unchanged or empty."""
    if not session.interactive:
        raise CommandError(f"Missing value for {name} (give a file name; the editor opens only "
                           "in an interactive session)")
    env = session.env
    editor = env.editor
    fd, path = tempfile.mkstemp(prefix=f"cmshell-{name}-", suffix=".txt", dir=env.temp_dir())
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(current or "")
        rc = subprocess.call(shlex.split(editor) + [path], env=dict(env.environ))
        if rc != 0:
            raise CommandError(f"Editor {editor} exited with status {rc}; nothing changed")
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    finally:
        os.unlink(path)
    if not text.strip() or text == current:
        return None
    return text
