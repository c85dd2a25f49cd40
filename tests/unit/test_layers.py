"""Imports flow one way: no cycles between cmshell's modules, and no import of a higher layer.

Every module under cmshell/ is parsed (not imported) with `ast`; every import statement
counts, at the top of a module, inside a function or under `if TYPE_CHECKING:`. A relative
import is resolved against the importing module's package; `from pkg import name` is an
import of the submodule `pkg.name` when that module exists, else of `pkg` itself.

Layers, lowest first (docs/architecture.md):

    base       cmshell/__init__.py, errors.py, status.py, events.py, env.py (usable by all)
    syntax     cmshell/syntax/
    model      cmshell/model/
    store      cmshell/store/
    workspace  cmshell/workspace.py, cmshell/commit.py
    backends   cmshell/backends/
    safety     cmshell/safety/ (plans across every backend, commit confirmed's rollback through the
               Committer; docs/safety.md)
    shell      the shell layer, itself ordered lowest first:
               output/ < shell/ < commands/ < repl/ < runner.py < cli.py < __main__.py

A module may import base modules, its own layer (group) and the layers below it, nothing else.
"""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "cmshell"

BASE = {"cmshell", "cmshell.errors", "cmshell.status", "cmshell.events", "cmshell.env"}

# (layer, module prefixes) lowest first; a module belongs to the first group whose prefix
# equals its name or is a package it lives in
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("syntax", ("cmshell.syntax",)),
    ("model", ("cmshell.model",)),
    ("store", ("cmshell.store",)),
    ("workspace", ("cmshell.workspace", "cmshell.commit")),
    ("backends", ("cmshell.backends",)),
    ("safety", ("cmshell.safety",)),
    ("output", ("cmshell.output",)),
    ("shell", ("cmshell.shell",)),
    ("commands", ("cmshell.commands",)),
    ("repl", ("cmshell.repl",)),
    ("runner", ("cmshell.runner",)),
    ("cli", ("cmshell.cli",)),
    ("__main__", ("cmshell.__main__",)),
]
RANK = {name: i for i, (name, _) in enumerate(LAYERS)}
SHELL_LAYER = {"output", "shell", "commands", "repl", "runner", "cli", "__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def layer_of(mod: str) -> str | None:
    if mod in BASE:
        return "base"
    for name, prefixes in LAYERS:
        if any(mod == p or mod.startswith(p + ".") for p in prefixes):
            return name
    return None


def _known(name: str, known: set[str]) -> str | None:
    """The longest prefix of dotted `name` that is a cmshell module."""
    parts = name.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in known:
            return cand
        parts.pop()
    return None


def imports_of(mod: str, path: Path, known: set[str]) -> dict[str, int]:
    """The cmshell modules `mod` imports, each with the line of its first import."""
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(target: str | None, line: int) -> None:
        if target is not None and target != mod and target.startswith("cmshell"):
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_known(alias.name, known), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                if node.level > 1:
                    base_parts = base_parts[:-(node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else _known(base, known), node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(m, p, known) for m, p in mods.items()}


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of the graph (Tarjan's algorithm), and for each import
    inside one of them the shortest cycle through it: every import that must go is in a cycle
    listed."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)

    out: list[list[str]] = []
    for comp in comps:
        members = set(comp)
        for v in comp:
            for w in sorted(graph[v]):
                if w in members:
                    cycle = _shortest_cycle(graph, members, v, w)
                    i = cycle.index(min(cycle))
                    cycle = cycle[i:] + cycle[:i]
                    if cycle + [cycle[0]] not in out:
                        out.append(cycle + [cycle[0]])
    return sorted(out)


def _shortest_cycle(graph: dict[str, dict[str, int]], members: set[str], v: str, w: str) -> list[str]:
    """v, w and the shortest way back from w to v inside the component (breadth first)."""
    prev = {w: v}
    frontier = [w]
    while frontier:
        nxt = []
        for x in frontier:
            for y in sorted(graph[x]):
                if y in members and y not in prev:
                    prev[y] = x
                    nxt.append(y)
                if y == v:
                    path = [x]
                    while path[-1] != w:
                        path.append(prev[path[-1]])
                    return [v] + list(reversed(path))
        frontier = nxt
    raise AssertionError("unreachable: v and w share a strongly connected component")


def test_the_graph_sees_every_kind_of_import():
    """The parser itself: relative, function-local and `from pkg import submodule` imports."""
    g = import_graph()
    assert "cmshell.store.base" in g["cmshell.store"]            # from .base import ...
    assert "cmshell.store.base" in g["cmshell.store.sqlite"]     # from .base import ...
    assert "cmshell.runner" in g["cmshell.cli"]                  # inside main()
    assert "cmshell.shell.session" in g["cmshell.runner"]        # inside a method


def test_cycles_are_found_and_listed():
    g = {"a": {"b": 1}, "b": {"c": 1, "a": 2}, "c": {"a": 1}, "d": {"a": 1}, "e": {}}
    assert cycles(g) == [["a", "b", "a"], ["a", "b", "c", "a"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_every_module_has_a_layer():
    assert [m for m in modules() if layer_of(m) is None] == []


def test_no_import_cycles():
    g = import_graph()
    found = cycles(g)
    shown = [" -> ".join(f"{a} ({a.rpartition('.')[2]}.py:{g[a][b]})" for a, b in zip(c, c[1:])) + f" -> {c[-1]}"
             for c in found]
    assert found == [], "import cycles (module (line of its import of the next)):\n" + "\n".join(shown)


def allowed(mod: str, target: str) -> bool:
    """May `mod` import `target`? Base modules: from anyone, and they import only each other;
    otherwise its own layer (group) or a lower one."""
    mine, theirs = layer_of(mod), layer_of(target)
    if theirs == "base" or theirs == mine:
        return True
    if mine == "base" or mine is None or theirs is None:
        return False
    return RANK[theirs] < RANK[mine]


def _violations() -> list[str]:
    return [f"{mod}:{line} ({layer_of(mod)}) imports {target} ({layer_of(target)})"
            for mod, targets in import_graph().items()
            for target, line in targets.items() if not allowed(mod, target)]


def test_no_upward_imports():
    found = _violations()
    assert found == [], "imports of a higher layer:\n" + "\n".join(found)


@pytest.mark.parametrize("lower", ["syntax", "model", "store", "workspace", "backends", "safety"])
def test_lower_layers_never_reach_the_shell(lower):
    """Stated on its own because it is the rule that matters most; test_no_upward_imports
    implies it."""
    g = import_graph()
    bad = [(m, t) for m, ts in g.items() if layer_of(m) == lower
           for t in ts if layer_of(t) in SHELL_LAYER]
    assert bad == []


def test_the_rules_are_the_documented_ones():
    """What the rules say about imports that do not exist (yet), so that nobody loosens the
    order by accident."""
    assert not allowed("cmshell.model.schema", "cmshell.shell.session")
    assert not allowed("cmshell.backends.ssh", "cmshell.commands.objects")
    assert not allowed("cmshell.backends.ssh", "cmshell.output.table")
    assert allowed("cmshell.backends.ssh", "cmshell.workspace")
    assert not allowed("cmshell.workspace", "cmshell.backends.ssh")
    assert allowed("cmshell.store.sqlite", "cmshell.model.schema")
    assert not allowed("cmshell.model.schema", "cmshell.store.sqlite")
    assert not allowed("cmshell.shell.session", "cmshell.commands.registry")
    assert not allowed("cmshell.shell.complete", "cmshell.repl.app")
    assert not allowed("cmshell.runner", "cmshell.cli")
    assert not allowed("cmshell.errors", "cmshell.model.schema")
    assert allowed("cmshell.commit", "cmshell.events")
    assert allowed("cmshell.repl.app", "cmshell.shell.complete")
    assert allowed("cmshell.safety.plan", "cmshell.backends.engine")
    assert allowed("cmshell.safety.watcher", "cmshell.commit")
    assert not allowed("cmshell.backends.ssh.backend", "cmshell.safety.report")
    assert not allowed("cmshell.safety.report", "cmshell.output.table")
    assert not allowed("cmshell.safety.confirm", "cmshell.shell.session")
    assert allowed("cmshell.shell.session", "cmshell.safety.confirm")
    assert allowed("cmshell.commands.safety", "cmshell.safety.report")


# modules of the lower layers that mypy may leave out for now ([tool.mypy] exclude)
NOT_TYPED_YET: set[str] = set()


def test_mypy_checks_every_module_below_the_shell():
    """.ci/mypy checks the files [tool.mypy] names; a new lower-layer module (or the coming
    cmshell/backends/) must be among them."""
    cfg = tomllib.loads((PKG.parent / "pyproject.toml").read_text())["tool"]["mypy"]
    exclude = cfg.get("exclude", [])
    exclude = [exclude] if isinstance(exclude, str) else exclude
    left_out = []
    for mod, path in modules().items():
        if layer_of(mod) in SHELL_LAYER:
            continue
        rel = path.relative_to(PKG.parent).as_posix()
        listed = any(rel == f or rel.startswith(f.rstrip("/") + "/") for f in cfg["files"])
        if not listed or any(re.search(e, rel) for e in exclude):
            left_out.append(rel)
    assert sorted(set(left_out) - NOT_TYPED_YET) == []
