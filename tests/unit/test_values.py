import pytest

from cmshell.model import values
from cmshell.model.nodeset import compress, expand
from cmshell.model.schema import Param


@pytest.mark.parametrize("word,expected", [
    ("yes", True), ("YES", True), ("1", True), ("on", True), ("True", True),
    ("no", False), ("No", False), ("0", False), ("OFF", False), ("false", False)])
def test_booleans_accept_every_spelling(word, expected):
    p = Param("iptables", "Iptables", "boolean")
    assert values.parse(p, [word]) is expected
    assert values.show(p, expected) == ("yes" if expected else "no")


def test_bad_values_are_refused():
    with pytest.raises(values.ValueError_):
        values.parse(Param("debug", "Debug", "boolean"), ["maybe"])
    with pytest.raises(values.ValueError_):
        values.parse(Param("mtu", "MTU", "integer"), ["ten"])
    with pytest.raises(values.ValueError_):
        values.parse(Param("loglevel", "Log Level", "enum", choices=("fatal", "info")), ["loud"])


def test_enums_are_case_insensitive_and_canonical():
    p = Param("nextinstallmode", "Next install mode", "enum", choices=("AUTO", "NOSYNC"))
    assert values.parse(p, ["nosync"]) == "NOSYNC"


def test_lists_take_words_and_commas():
    p = Param("labels", "Labels", "list")
    assert values.parse(p, ["a", "b,c"]) == ["a", "b", "c"]
    assert values.show(p, ["a", "b"]) == "a,b"
    assert values.get_lines(p, ["a", "b"]) == ["a", "b"]


@pytest.mark.parametrize("size,text", [
    (0, "<0B>"), (914, "<914B>"), (1023, "<1023B>"), (1034, "<1.01KiB>"), (1219, "<1.19KiB>"),
    (250000, "<244KiB>"), (1024, "<1KiB>"), (3 * 1024 * 1024, "<3MiB>")])
def test_blob_sizes(size, text):
    assert values.blob_size("x" * size) == text


def test_secrets_never_show():
    p = Param("kubecakey", "Kube CA Key", "secret")
    assert values.show(p, "PRIVATE") == "*****"
    assert values.show(p, "") == "< not set >"
    assert values.get_lines(p, "PRIVATE") == ["*****"]


def test_node_lists_compress_runs_of_three():
    assert compress(["node001", "node002", "node003"]) == "node001..node003"
    assert compress(["node001", "node002"]) == "node001,node002"
    assert compress(["node001", "node002", "node003", "node005", "gpu1"]) == "node001..node003,node005,gpu1"
    assert compress(["n9", "n10", "n11"]) == "n9,n10,n11"   # padding differs: not one run


def test_expand_ranges():
    assert expand("node001..node003") == ["node001", "node002", "node003"]
    assert expand("node003") == ["node003"]
