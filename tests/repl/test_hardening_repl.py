"""Issue 12 in the interactive shell: what the history keeps of a typed secret."""
from __future__ import annotations

import pytest

pytest.importorskip("pexpect")

from tests.repl.test_terminal import Term, prompt  # noqa: E402


def test_a_typed_secret_never_reaches_the_history_file(cm, home):
    t = Term(cm)
    t.expect(prompt(""))
    t.line("kubernetes use default; set kubecakey TopSecretKey1")
    t.expect(prompt("->kubernetes*[default*]"))
    t.line("refresh; home")
    t.expect(prompt(""))
    t.line("quit")
    t.eof()
    text = (home / ".cmshell_history").read_text()
    assert "TopSecretKey1" not in text
    assert "+kubernetes use default; set kubecakey *****\n" in text
