import pytest

from cmshell.syntax.line import LineError, split


def words(line):
    return [c.words for c in split(line)]


def test_semicolons_separate_commands():
    assert words("device; list") == [["device"], ["list"]]
    assert words(";; device ;") == [["device"]]


def test_double_quotes_group_and_escape():
    assert words('set revision "changed on 10th May"') == [["set", "revision", "changed on 10th May"]]
    assert words(r'set notes "say \"hi\""') == [["set", "notes", 'say "hi"']]
    assert words('set notes ""') == [["set", "notes", ""]]
    assert words('list -d "|"') == [["list", "-d", "|"]]


def test_comments_whole_line_and_trailing():
    assert split("# now let us connect") == []
    assert words(".. #but, we're using AMD GPUs") == [[".."]]
    assert words('set notes "a # b"') == [["set", "notes", "a # b"]]
    assert words("set labels nvidia.com/amd-gpu-accelerator=") == [["set", "labels", "nvidia.com/amd-gpu-accelerator="]]


def test_shell_escape_takes_the_rest_of_the_line():
    (cmd,) = split("!yum info kubeadm | grep -E '(^Source|^Version)'; echo x")
    assert cmd.shell == "yum info kubeadm | grep -E '(^Source|^Version)'; echo x"
    assert split("!")[0].shell == ""


def test_pipe_and_redirect():
    (cmd,) = split("list | grep node001")
    assert cmd.words == ["list"] and cmd.pipe == "grep node001"
    a, b = split("list | awk '{print $1; }' | sort; home")
    assert a.pipe == "awk '{print $1; }' | sort" and b.words == ["home"]
    a, b = split("list > /tmp/out; list >> /tmp/out")
    assert a.redirect == (">", "/tmp/out") and b.redirect == (">>", "/tmp/out")


def test_parentheses_group_commands():
    assert words("foreach -n a (get x; set y z)") == [["foreach", "-n", "a", "(", "get", "x", ";", "set", "y", "z", ")"]]


@pytest.mark.parametrize("line", ['set notes "open', "foreach (a", "list )", "list |", "list >"])
def test_malformed_lines_raise(line):
    with pytest.raises(LineError):
        split(line)
