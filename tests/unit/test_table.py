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
