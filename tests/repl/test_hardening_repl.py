"""Issue 12 in the interactive shell: what the history keeps of a typed secret."""
from __future__ import annotations

import pytest

pytest.importorskip("pexpect")

from tests.repl.test_terminal import Term, prompt  # noqa: E402


def test_a_typed_secret_never_reaches_the_history_file(cm, home):
    t = Term(cm)
    t.expect(prompt(""))
    t.command("kubernetes use default; set kubecakey TopSecretKey1", "->kubernetes*[default*]")
    t.command("refresh; home", "")
    t.line("quit")
    t.eof()
    text = (home / ".cmshell_history").read_text()
    assert "TopSecretKey1" not in text
    assert "+kubernetes use default; set kubecakey *****\n" in text
