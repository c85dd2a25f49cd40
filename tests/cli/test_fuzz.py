"""A fuzz corpus (issue 12 item 5): at least 10,000 generated command lines run in one session
over a copy of the demo store, and not one of them may end in a traceback or an internal
error. The lines mix the shell's own words (commands, modes, submodes, objects, parameters)
with values and syntax that have broken shells before: quotes, `;`, `|`, `>`, `#`, `!`,
parentheses, node lists, printf formats, `$1`, NUL, escapes, non-UTF-8, long words.

Deterministic by default (seed 12); CMSHELL_TEST_SEED=N runs another corpus. The OS shell
(`!`, `|`) is stubbed: the lines are generated, and nothing of them may reach a real shell.
"""
from __future__ import annotations

import io
import os
import random
import time

import pytest

from conftest import SEED_VARIABLE, session_on

LINES = 10_000

WORDS = ["device", "category", "softwareimage", "network", "kubernetes", "configurationoverlay",
         "etcd", "roles", "services", "appgroups", "applications", "environment", "environments",
         "labelsets", "openports", "configurations", "excludelistsnippets", "storagebackends",
         "users", "customizations", "kubeletoptions", "..", "/", "-", "?", "ls", "ds", "exit"]
OBJECTS = ["node001", "node002", "node00[1-3]", "node001..node004", "basecm10", "master", "MASTER",
           "gpu001", "default", "gpu-nodes", "default-image", "internalnet", "kube-default-worker",
           "docker::host", "Docker::Host", "kubelet", "etcdhost", "generic::harbor", "system",
           "calico", "sshd", "0", "1", "nosuch", "*", "^list"]
VALUES = ["yes", "no", "0", "-1", "99999999999999999999999", "10.141.0.1", "300.1.1.1", "::1",
          "00:11:22:33:44:55", "zz:zz", "a,b", ",", "", '""', '"a b"', "'x'", "%d", "%s%s%s",
          "w%02d", "$1", "${1-x}", "$#", "$@", "x:0", "hostname:[5-3]", "hostname:0,ip:0", "{}",
          "{4}", "-n", "-c", "-f", "-d", "-s", "-v", "-x", "-q", "-r", "-l", "-m", "-e", "-u",
          "--bogus", "--dry-run", "--effective", "--clone", "--next-ip", "--", "é", "日本",
          "\udcff", "\x00", "\x1b[31m", "\t", "a" * 300, "~", "~/x", "..", "....", "file.cmsh",
          "1e9", "0x10", "NaN", "on", "off", "level", "clear", "show", "-t", "5",
          "hostname:99999999999999999999", "%.9999999d", "node[1-99999999]", "node[9-1]"]
PLACES = ["", "", "device", "device use node001", "device use node001; roles",
          "device use basecm10; roles", "category use default; roles; use docker::host",
          "category use default; services", "category", "softwareimage use default-image",
          "device use node001; interfaces", "device use node002; interfaces; add bond bond0",
          "network use internalnet", "configurationoverlay use kube-default-worker",
          "kubernetes use default; appgroups; use system; applications; use calico; environment",
          "kubernetes use default; labelsets", "etcd", "device use node002; roles; assign generic::harbor;"
          " environments", "category use default; roles; use docker::host; storagebackends"]
SYNTAX = [";", "|", "|", ">", ">>", "#", "!", "(", ")", '"', "\\", ";;", "&&", "` `"]


NUMBERS = ["0", "1", "-1", "3", "65535", "65536", "2147483648", "9223372036854775808",
           "99999999999999999999999", "-99999999999999999999999", "1.5", "1e400"]


def corpus(seed: int, count: int, commands: dict[str, tuple], params: list[str]):
    """`count` lines: half of them free word salad, half a command with words of the kinds its
    arguments take (objects, parameters, values, numbers, options)."""
    rnd = random.Random(seed)
    names = sorted(commands)
    pools = [(names, 5), (WORDS, 2), (OBJECTS, 3), (params, 3), (VALUES, 3), (NUMBERS, 2), (SYNTAX, 1)]
    choices = [p for p, w in pools for _ in range(w)]
    kinds = {"object": OBJECTS, "target": OBJECTS, "param": params, "value": VALUES + NUMBERS,
             "new": OBJECTS + VALUES, "file": VALUES, "member": OBJECTS, "role": OBJECTS}
    for _ in range(count):
        words = [rnd.choice(names)]
        if rnd.random() < 0.5:
            for spec in commands[words[0]] or ("any*",):
                kind = spec.split(":")[0].rstrip("?*")
                pool = kinds.get(kind, VALUES + NUMBERS + OBJECTS + params)
                for _ in range(rnd.choice((0, 1, 1, 1, 2, 3)) if spec[-1] in "?*" else 1):
                    words.append(rnd.choice(pool))
        else:
            for _ in range(rnd.choice((0, 1, 1, 2, 2, 2, 3, 3, 4, 5, 7))):
                # now and then a word again (`unalias q q`, `swap a a`)
                words.append(words[-1] if len(words) > 1 and rnd.random() < 0.1
                             else rnd.choice(rnd.choice(choices)))
        sep = " " if rnd.random() < 0.9 else rnd.choice(["", "  ", "\t", ";", " ; "])
        place = rnd.choice(PLACES)
        yield (f"home; {place}; " if place else "") + sep.join(words)


def test_fuzz_corpus_runs_without_a_traceback(db, tmp_path, shared_cache, monkeypatch):
    from cmshell.errors import Quit
    from cmshell.model.schema import load_schema
    from cmshell.shell import osshell
    from cmshell.store import open_store
    from cmshell.commands import registry

    shell_lines = []
    monkeypatch.setattr(osshell, "_shell", lambda s, command, input=None: shell_lines.append(command) or 0)
    monkeypatch.setattr(osshell.subprocess, "call", lambda *a, **k: shell_lines.append(a) or 0)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file.cmsh").write_text("device; list\nset $1 $2\n")
    (tmp_path / "list").write_text("node001\nnode002\n")
    home = tmp_path / "home"
    home.mkdir()

    schema = load_schema(cache_dir=str(shared_cache))
    reg = registry.load()
    commands = {name: d.args for name, d in reg.defs.items()}
    commands.update({name: () for name in reg.aliases})
    params = sorted({p.name for m in schema.modes.values() for p in m.all_params().values()})
    seed = int(os.environ.get(SEED_VARIABLE) or 12)

    store = open_store(db)
    first = store.journal(1)[-1].seq

    def fresh():
        """A new session (no aliases, bookmarks or formats from earlier lines) on the demo
        cluster as it was (the lines commit, remove and rename)."""
        s = session_on(store, shared_cache, HOME=str(home), CMSHELL_DEBUG="1", VISUAL="true")
        s.run_line(f"rollback {first}; commit")
        s.run_line("refresh")
        s.out, s.err = io.StringIO(), io.StringIO()
        return s

    s = fresh()
    start, ran = time.perf_counter(), 0
    for i, line in enumerate(corpus(seed, LINES, commands, params)):
        try:
            s.run_line(line)
        except Quit:
            pass
        except Exception as e:        # noqa: BLE001 - the point of the test
            pytest.fail(f"line {i} of corpus {seed} ended in {type(e).__name__}: {e}\n{line!r}")
        out, err = s.out.getvalue(), s.err.getvalue()
        assert "Traceback" not in out + err and "Internal error" not in err, (i, line, err[-500:])
        s.out, s.err = io.StringIO(), io.StringIO()
        ran += 1
        if i % 250 == 249:
            s = fresh()
    assert ran >= 10_000
    assert time.perf_counter() - start < 120
