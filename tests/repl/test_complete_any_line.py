"""suggest() and classify() take any line, from anywhere, without an exception.

Completion has no `except Exception` around the session's code: it asks the same navigation
and lookup functions the commands use, and these must cope with what a half-typed line
names (nothing, a typo, an object of another mode, a level that does not exist yet).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import copy_store, session_on
from cmshell.shell.complete import classify, suggest
from cmshell.store import open_store

WORDS = [
    # modes, submodes, navigation
    "device", "category", "kubernetes", "configurationoverlay", "softwareimage", "roles",
    "appgroups", "applications", "environment", "openports", "storagebackends", "use", "exit",
    "..", "/", "home", "-", "goto", "add", "clone", "remove", "assign", "unassign",
    # other commands and options
    "set", "get", "show", "clear", "append", "removefrom", "list", "format", "help", "foreach",
    "range", "alias", "run", "time", "watch", "commit", "refresh", "options", "listnodes",
    "-n", "-e", "--extra", "-f", "-d", "--effective", "-v",
    # objects, rows, roles, types, values, parameters
    "node001", "NODE001", "gpu00", "basecm10", "master", "default", "gpu-nodes", "nosuch",
    "docker::host", "Docker::Host", "generic::", "generic::harbor", "firewall", "kubelet",
    "system", "calico", "kube-default-worker", "0", "1", "99", "physicalnode", "overlay2",
    "accept", "notes", "category", "softwareimage", "nodes", "categories", "iptables", "config",
    "node001..node003", "yes", "x",
    # punctuation
    ";", "(", ")", "|", ">", ">>", "#", "!", '"', '"a b"',
]

STARTS = ["", "device", "device use node001", "category use default; roles",
          "category use default; roles; use docker::host", "kubernetes; appgroups",
          "device use basecm10; roles; use firewall; openports", "configurationoverlay"]


@pytest.fixture(scope="module")
def sessions(template_db, tmp_path_factory, shared_cache):
    store = open_store(copy_store(template_db, tmp_path_factory.mktemp("anyline") / "a.db"))
    out = []
    for where in STARTS:
        s = session_on(store, shared_cache)
        if where:
            assert s.run_line(where), s.err.getvalue()
        out.append(s)
    yield out
    store.close()


lines = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, len(STARTS) - 1), line=lines, cut=st.integers(0, 3), space=st.booleans())
def test_any_line_completes_and_highlights(sessions, start, line, cut, space):
    s = sessions[start]
    text = line[:len(line) - cut] + (" " if space else "")
    before = (s.path, len(s.ws.pending()))
    for c in suggest(s, text):
        assert c.start <= 0 and c.text
    roles = classify(s, text)
    assert all(0 <= a <= b <= len(text) for a, b, _ in roles)
    assert (s.path, len(s.ws.pending())) == before
