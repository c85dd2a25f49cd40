from cmshell.output import table


def test_fixed_and_ranged_widths_and_cut_cells():
    cols = table.parse_format("name:6,desc:[4-8]")
    lines = table.render(["Name (key)", "Desc"], cols, [["abc", "a very long text"]])
    assert lines == ["Name ( Desc", "------ --------", "abc    a very +"]


def test_verbose_shows_whole_cells():
    cols = table.parse_format("name:6,desc:[4-8]")
    lines = table.render(["Name", "Desc"], cols, [["abc", "a very long text"]], verbose=True)
    assert lines[-1] == "abc    a very long text"


def test_unpadded_columns_for_scripts():
    cols = table.parse_format("name:0,id:0")
    assert table.render(["name", "id"], cols, [["alice", "1001"]])[-1] == "alice 1001"


def test_delimiter_and_json():
    cols = table.parse_format("a,b")
    assert table.render(["A", "B"], cols, [["1", "2"]], delimiter="|")[-1] == "1|2"
    assert table.json_indent("{}") == 2 and table.json_indent("{4}") == 4 and table.json_indent("|") is None
    assert table.render_json(["a"], [["1"]]) == ["[", "  {", '    "a": "1"', "  }", "]"]


def test_show_pairs():
    lines = table.pairs([("Name", "default"), ("Revision", "")])
    assert lines[0] == "Parameter".ljust(32) + " Value"
    assert lines[2] == "Name".ljust(32) + " default"
    assert lines[3] == "Revision"


def _streamed(headers, cols, rows, **kw):
    out = []
    st = table.Stream(headers, cols, out.append, **kw)
    for r in rows:
        st.add(r)
    st.close()
    return "\n".join(out).split("\n")


def test_a_stream_of_few_rows_prints_as_render_does():
    cols = table.parse_format("name:6,desc:[4-8],free,none:0")
    rows = [["abc", "a very long text", "x", "1"], ["a{b}", "", "longer one", "22"], ["", "12345", "", ""]]
    for kw in ({}, {"verbose": True}, {"delimiter": "|"}, {"delimiter": "{0}"}):
        assert _streamed(["Name (key)", "Desc", "F", "N"], cols, rows, **kw) == \
            table.render(["Name (key)", "Desc", "F", "N"], cols, rows, **kw)
    assert _streamed(["A"], table.parse_format("a"), []) == table.render(["A"], table.parse_format("a"), [])


def test_a_long_stream_takes_widths_from_the_rows_seen():
    cols = table.parse_format("name:[4-8],free,fixed:3")
    rows = [[f"n{i}", "x", "abc"] for i in range(5)] + [["longer-name", "much longer", "abcdef"], ["n9", "y", "z"]]
    lines = _streamed(["Name", "Free", "Fix"], cols, rows, hold=3, chunk=2)
    assert lines[:3] == ["Name Free Fix", "---- ---- ---", "n0   x    abc"]
    assert lines[-2] == "longer-+ much longer ab+"     # wider from here on, as far as the format lets it
    assert lines[-1] == "n9       y           z"
    assert len(lines) == 2 + len(rows)
