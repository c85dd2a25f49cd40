"""The node-list grammar (cmshell/syntax/nodelist.py): cmsh's examples, errors, and the
property that printing a list and reading it back gives the same list."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from cmshell.model import nodeset
from cmshell.syntax.nodelist import NodeListError, parse, plain, render, short


def names(prefix, lo, hi, width=3, step=1):
    return [f"{prefix}{i:0{width}d}" for i in range(lo, hi + 1, step)]


# -- cmsh's forms (cmsh-behaviour §4.14) --------------------------------------------------------
def test_dot_range():
    assert parse("node001..node004") == names("node", 1, 4)


def test_bracket_range_equals_dot_range():
    assert parse("node00[1-4]") == parse("node001..node004") == names("node", 1, 4)


def test_leading_zero_in_the_low_bound_pads():
    assert parse("node0[01-24]") == names("node", 1, 24)
    assert parse("node[001-003]") == names("node", 1, 3)
    assert parse("n[1-10]") == [f"n{i}" for i in range(1, 11)]
    assert parse("n[0-2]") == ["n0", "n1", "n2"]


def test_two_brackets_make_every_combination_first_slowest():
    got = parse("node[001-002]s[001-005]")
    assert got == [f"node{a:03d}s{b:03d}" for a in (1, 2) for b in range(1, 6)]


def test_exclusion():
    assert parse("node001..node005,-node002..node003") == ["node001", "node004", "node005"]
    assert parse(["node001..node005", "-node00[2-3]"]) == ["node001", "node004", "node005"]


def test_exclusion_applies_wherever_it_stands():
    assert parse("-node002,node001..node003") == ["node001", "node003"]


def test_stride():
    assert parse("node00[1..7:2]") == ["node001", "node003", "node005", "node007"]
    assert parse("node00[1-7:3]") == ["node001", "node004", "node007"]


def test_lists_inside_brackets_and_commas_and_words():
    assert parse("node[1-3,7]") == ["node1", "node2", "node3", "node7"]
    assert parse("a,b c") == ["a", "b", "c"]


def test_order_is_kept_and_repeats_dropped():
    assert parse("node003,node001,node003,node001..node002") == ["node003", "node001", "node002"]


def test_short_form_of_the_range_prompt():
    assert parse("node001..024") == names("node", 1, 24)
    assert short(names("node", 1, 24)) == "node001..024"


def test_file(tmp_path):
    f = tmp_path / "nodes"
    f.write_text("# rack 1\nnode001 node002\nnode00[5-6],gpu001\n-node002\n")
    assert parse(f"^{f}") == ["node001", "node005", "node006", "gpu001"]
    assert parse(["^x"], reader=lambda p: "a b") == ["a", "b"]


def test_file_errors(tmp_path):
    with pytest.raises(NodeListError, match="Cannot read"):
        parse(f"^{tmp_path / 'missing'}")
    with pytest.raises(NodeListError, match="another file"):
        parse(["^x"], reader=lambda p: "^y")


@pytest.mark.parametrize("bad", ["node[1-2]..node[3-4]", "node005..node001", "node001..gpu003",
                                 "node[1-", "node]", "node[a-b]", "node[3-1]", "node[1..5:0]",
                                 "-", "node..", "..x"])
def test_bad_lists_are_refused(bad):
    with pytest.raises(NodeListError):
        parse(bad)


def test_huge_ranges_are_refused_before_they_are_built():
    with pytest.raises(NodeListError, match="too long"):
        parse("n[1-9999999]")
    with pytest.raises(NodeListError, match="too long"):
        parse("n[1-2000]m[1-2000]")


# -- printing -----------------------------------------------------------------------------------
def test_render_compresses_runs_of_three_or_more():
    assert render(names("node", 1, 3)) == "node001..node003"
    assert render(["node001", "node002"]) == "node001,node002"
    assert render(["n9", "n10", "n11"]) == "n9,n10,n11"          # padding differs: no run
    assert render(names("node", 1, 3), style="bracket") == "node[001-003]"
    assert render([]) == ""


def test_nodeset_delegates():
    assert nodeset.compress(names("node", 1, 5)) == "node001..node005"
    assert nodeset.expand("node00[1-3]") == names("node", 1, 3)
    assert nodeset.expand("odd[") == ["odd["]       # unreadable words stand for themselves
    assert nodeset.expand_words(["node001..node003,-node002"]) == ["node001", "node003"]


# -- parse ∘ print = identity -----------------------------------------------------------------
_prefix = st.sampled_from(["node", "gpu", "n", "r1n", "kube-node-", "", "x.y"])
_name = st.one_of(
    st.builds(lambda p, n, w: f"{p}{n:0{w}d}", _prefix, st.integers(0, 120), st.integers(1, 4)),
    st.from_regex(r"[A-Za-z][A-Za-z0-9:_.-]{0,8}", fullmatch=True).filter(plain),
)


def _runs_of(prefix_width_starts):
    out = []
    for prefix, width, start, length in prefix_width_starts:
        out += [f"{prefix}{i:0{width}d}" for i in range(start, start + length)]
    return out


_run = st.tuples(_prefix, st.integers(1, 4), st.integers(0, 995), st.integers(1, 12))
# names from a small space, mostly sorted: runs, gaps of one, mixed widths and prefixes
_dense_name = st.builds(lambda p, n, w: f"{p}{n:0{w}d}", st.sampled_from(["n", "gpu"]),
                        st.integers(0, 14), st.sampled_from([1, 2, 3]))
def _by_width(name):
    head = name.rstrip("0123456789")
    return head, len(name), int(name[len(head):])


def _by_number(name):
    head = name.rstrip("0123456789")
    return head, int(name[len(head):]), len(name)


_dense = st.tuples(st.lists(_dense_name, unique=True, max_size=30),
                   st.sampled_from([None, _by_width, _by_number])).map(
    lambda t: sorted(t[0], key=t[1]) if t[1] else t[0])
# one prefix and padding, ascending numbers with gaps: where runs start and stop
_gappy = st.builds(lambda p, w, nums: [f"{p}{n:0{w}d}" for n in sorted(set(nums))],
                   _prefix, st.integers(1, 3), st.lists(st.integers(0, 20), max_size=15))
_lists = st.one_of(
    _dense,
    _gappy,
    st.lists(_name, unique=True, max_size=40),
    st.builds(_runs_of, st.lists(_run, max_size=6)).map(lambda xs: list(dict.fromkeys(xs))),
    st.builds(lambda a, b: list(dict.fromkeys(a + b)), st.builds(_runs_of, st.lists(_run, max_size=4)),
              st.lists(_name, max_size=10)).flatmap(lambda xs: st.permutations(xs)),
)


@settings(max_examples=150, deadline=None)
@given(_lists)
def test_parse_of_render_is_identity(xs):
    assert parse(render(xs)) == xs


@settings(max_examples=100, deadline=None)
@given(_lists)
def test_parse_of_bracket_render_is_identity(xs):
    assert parse(render(xs, style="bracket")) == xs


@settings(max_examples=100, deadline=None)
@given(_lists)
def test_parse_of_short_is_identity(xs):
    assert parse(short(xs)) == xs


@settings(max_examples=100, deadline=None)
@given(_lists, st.data())
def test_exclusion_of_a_printed_sublist_removes_exactly_it(xs, data):
    gone = data.draw(st.lists(st.sampled_from(xs), unique=True) if xs else st.just([]))
    text = render(xs) + ("," + ",".join("-" + part for part in render(gone).split(",")) if gone else "")
    assert parse(text) == [x for x in xs if x not in gone]
