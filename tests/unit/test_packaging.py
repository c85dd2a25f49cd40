"""What `pip install .` ships: every package of the source tree, the schema and the demo."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_for_setuptools():
    """A package missing from pyproject's list installs without it (cmshell then fails at start)."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "cmshell").rglob("__init__.py")}
    assert found - listed == set()
    assert {"cmshell.modes", "cmshell.modes.roles", "cmshell.fixtures"} <= listed
