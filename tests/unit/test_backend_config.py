"""The configuration file (cmshell/backends/config.py) and which backends it turns on."""
from __future__ import annotations

import pytest

from cmshell.backends import config
from cmshell.backends.engine import Engine


def write(tmp_path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_no_file_means_nothing_is_applied(tmp_path):
    assert config.locate(None, {}, str(tmp_path)) is None
    assert config.load(None).apply == "off"


def test_where_the_file_is_looked_for(tmp_path):
    (tmp_path / "config.yaml").write_text("apply: manual\n")
    assert config.locate("/x.yaml", {"CMSHELL_CONFIG": "/y.yaml"}, str(tmp_path)) == "/x.yaml"
    assert config.locate(None, {"CMSHELL_CONFIG": "/y.yaml"}, str(tmp_path)) == "/y.yaml"
    assert config.locate(None, {}, str(tmp_path)) == str(tmp_path / "config.yaml")


@pytest.mark.parametrize("text, message", [
    ("apply: sometimes\n", "apply must be one of auto, manual, off, not sometimes"),
    ("- a\n- b\n", "expected a mapping of settings"),
    ("ssh: [1, 2]\n", "ssh must be a mapping of settings"),
    ("apply: [\n", "not valid YAML"),
])
def test_a_bad_file_is_one_clear_line(tmp_path, text, message):
    with pytest.raises(config.ConfigError, match=message.replace("[", r"\[")):
        config.load(write(tmp_path, text))


def test_a_backend_runs_only_when_the_file_has_its_section(tmp_path):
    factories = {"ssh": object, "kubernetes": object}
    conf = config.load(write(tmp_path, "apply: auto\nssh:\n  fanout: 8\n"))
    assert Engine(None, None, conf, factories=factories).names() == ["ssh"]     # type: ignore[arg-type]
    conf = config.load(write(tmp_path, "apply: auto\nssh: {}\nkubernetes:\n"))
    assert conf.section("kubernetes") == {}
    assert Engine(None, None, conf, factories=factories).names() == ["kubernetes", "ssh"]  # type: ignore[arg-type]
