"""The streaming reader of cluster files gives exactly what PyYAML gives, or asks for a restart."""
from __future__ import annotations

import textwrap

import pytest
import yaml

from cmshell.shell import cluster_yaml


def read(path) -> dict:
    out: dict = {}
    for mode, doc in cluster_yaml.objects(str(path)):
        out.setdefault(mode, [])
        if doc is not None:
            out[mode].append(doc)
    return out


def pyyaml(path) -> dict:
    with open(path) as fh:
        data = yaml.safe_load(fh)
    return {k: v or [] for k, v in data.items()}


TRICKY = """\
# a comment
network:
- name: internalnet
  baseaddress: 10.141.0.0
  netmaskbits: 16
  mtu: 0x10
  ratio: 1.5e+3
  sexagesimal: 1:30
  octal: 010
  when: 2001-12-14
  dynamic: ~
  other: null
  on: yes
  off: Off
  flag: TRUE
  word: 'yes'
  quoted: "no"
  empty: ''
  text: a plain value with spaces
  colon: a:b
  hash: a#b
  list: []
  map: {}
  negative: -12
  dotted: .inf
  equals: =x
- name: "second"   # a comment after a value

  notes: |
    literal
    - not an item
  # a comment inside
  rows:
  - a: 1
  - b: [1, 2]
category: []
device:
softwareimage: ~
- strange
"""


def test_flat_and_nested_objects_read_as_pyyaml_does(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(TRICKY.replace("- strange\n", ""))
    assert read(path) == pyyaml(path)
    assert list(read(path)) == ["network", "category", "device", "softwareimage"]


@pytest.mark.parametrize("text", [
    "device: [{hostname: a}]\n",                                    # flow style
    "device:\n  - hostname: a\n",                                   # indented items
    "device:\n- hostname: a\n  x: &anchor 1\n- hostname: b\n  y: *anchor\n",   # alias across objects
    "device:\n- hostname: a\ndevice:\n- hostname: b\n",             # a mode twice (PyYAML keeps the last)
    "---\ndevice:\n- hostname: a\n",                                # a document marker
    "device: []\n- hostname: a\n",
    "just text\n",
    "",
])
def test_other_layouts_restart(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(cluster_yaml.Restart):
        read(path)


def test_an_alias_inside_one_object_is_read(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("device:\n- hostname: a\n  x: &anchor [1]\n  y: *anchor\n")
    assert read(path) == pyyaml(path)


def test_whole_reports_pyyaml_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("device:\n- hostname: a\n  ip: [unclosed\n")
    with pytest.raises(cluster_yaml.Restart):
        read(path)
    with pytest.raises(cluster_yaml.YamlError) as e:
        cluster_yaml.whole(str(path))
    assert "\n" not in str(e.value)


def test_generated_cluster_reads_as_pyyaml_does(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "g.yaml"
    with open(path, "w") as fh:
        subprocess.run([sys.executable, str(root / "fixtures" / "generate.py"), "--nodes", "300"],
                       stdout=fh, check=True)
    assert read(path) == pyyaml(path)
    demo = root / "fixtures" / "basecm10.yaml"
    assert read(demo) == pyyaml(demo)


def test_values_resolve_like_pyyaml():
    sc = cluster_yaml._Scalars()
    for text in ["yes", "No", "on", "OFF", "true", "~", "null", "12", "-3", "0o17", "0x1F", "1_000",
                 "1.5", ".5", "-.inf", ".NaN", "1:20", "node001", "10.141.0.1", "FA:16:3E:00:00:01",
                 "'quoted'", '"double"', "[]", "{}"]:
        want = yaml.safe_load(textwrap.dedent(f"k: {text}"))["k"]
        got = sc.value(text)
        assert got == want or (got != got and want != want), text
        assert type(got) is type(want), text
    for text in ["2001-12-14", "a: b", "x #c", "&a", "*a", "!tag x", "|", ">", "[1]", "'it''s'", '"a\\n"',
                 "trailing ", "-", "? x", "%x", "@x", "`x", "<<"]:
        with pytest.raises(ValueError):
            sc.value(text)
