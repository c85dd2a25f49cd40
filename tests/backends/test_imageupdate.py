"""`imageupdate` against real sshd nodes (issue 12, item 15): a small software image directory
made here, synced over the SSH backend's transport, with the exclude lists of the node's
category and roles.

The manual's lines this follows: `cmsh -c "device use $host; imageupdate -w --wait"` and
`cmsh -c "device; imageupdate -n $hosts -w --wait"` (BCM 10 Containerization Manual, S:3736 and
S:3849), and "imageupdate prints a dry-run banner, then `imageupdate [ COMPLETED ]`; -w for
real" (BCM 11 Administrator Manual, cmsh-behaviour.md §4.15). Exclude list snippets "prevent
BCM software image updates from overwriting the provisioned files" (S:4179).
"""
from __future__ import annotations

import os
import stat

import pytest

from cmshell.backends.ssh.imagesync import Entry, Excludes, plan, rule
from tests.backends.ssh_helpers import out

NODES = ["node001", "node002", "node003"]


def make_image(root):
    """srv/app: a tool, its config, a link, a cache and a database; srv/site: a readme."""
    files = {"srv/app/bin/tool": (b"#!/bin/sh\necho tool v1\n", 0o755),
             "srv/app/etc/app.conf": (b"port=8080\n", 0o644),
             "srv/app/cache/blob": (b"from the image\n", 0o644),
             "srv/app/data/keep.db": (b"image's database\n", 0o600),
             "srv/site/readme": (b"hello\n", 0o644)}
    for rel, (data, mode) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)
    os.symlink("bin/tool", root / "srv/app/tool")
    return root


@pytest.fixture
def cluster(ssh_session, tmp_path):
    """node001..node003 as sshd nodes; a session on the demo store whose default-image is the
    small image made here, with imageupdate's SSH settings (applying stays off)."""
    nodes, s, store = ssh_session(NODES, apply="off")
    image = make_image(tmp_path / "image")
    assert s.run_line(f"softwareimage use default-image; set path {image}; commit"), s.err.getvalue()
    # the category's snippets: one with no-new-files, one disabled, one not for updates
    assert s.run_line(
        "category use default; excludelistsnippets; "
        "add local; set excludelist /srv/app/etc/local.conf; ..; "
        "add data; set excludelist /srv/app/data/; set nonewfiles yes; ..; "
        "add off; set excludelist /srv/site/; set disabled yes; ..; "
        "add grab-only; set excludelist /srv/app/bin/; set modeupdate no; commit"), s.err.getvalue()
    # a role's snippet: generic::containerd comes to node001..003 from overlay kube-default-master
    assert s.run_line("configurationoverlay use kube-default-master; roles; use generic::containerd; "
                      "excludelistsnippets; add cache; set excludelist /srv/app/cache/; commit"), s.err.getvalue()
    return nodes, s, image


def test_dry_run_lists_then_w_syncs_honouring_the_exclude_lists(cluster):
    nodes, s, image = cluster
    n1, n2 = nodes.node("node001"), nodes.node("node002")
    n1.write("/srv/app/old.txt", b"not in the image\n")
    n1.write("/srv/app/etc/local.conf", b"site-local\n")         # excluded: stays
    n1.write("/srv/app/cache/local", b"node's cache\n")          # below an excluded directory
    n2.write("/srv/app/data/keep.db", b"node002's own data\n")   # no-new-files: kept once there
    # the dry run: what would change, nothing changed
    assert s.run_line("device; imageupdate -n node001..node002"), s.env.stderr.getvalue()
    text = out(s)
    assert text.startswith("Performing dry run (pass -w to perform the real update)...\n")
    assert text.endswith("imageupdate [ COMPLETED ]\n")
    lines = text.splitlines()
    first = lines.index("node001: 8 to write, 1 to remove (software image default-image)")
    assert lines[first + 1:first + 10] == [
        "  + /srv/app/bin", "  + /srv/app/bin/tool", "  + /srv/app/data", "  + /srv/app/data/keep.db",
        "  + /srv/app/etc/app.conf", "  - /srv/app/old.txt", "  + /srv/app/tool", "  + /srv/site",
        "  + /srv/site/readme"]
    # node002 has its own database: no new files there, the rest as node001
    assert "node002: 7 to write, 0 to remove (software image default-image)" in lines
    assert "  + /srv/site/readme" in lines                   # the disabled snippet excludes nothing
    assert "  + /srv/app/bin/tool" in lines                  # so does one that is not for updates
    assert not any("/srv/app/cache" in line for line in lines)
    assert n1.read("/srv/app/bin/tool") is None and n1.read("/srv/app/old.txt") is not None
    # -v says what the exclude lists keep
    assert s.run_line("imageupdate node001 -v")
    text = out(s)
    assert "  x /srv/app/cache/blob (exclude list snippet cache of role generic::containerd)" in text
    assert "  x /srv/app/cache/local (exclude list snippet cache of role generic::containerd)" in text
    assert "  x /srv/app/etc/local.conf (exclude list snippet local of category default)" in text
    # the real update, as the manual's scripts run it
    assert s.run_line("imageupdate -n node00[1-2] -w --wait"), s.env.stderr.getvalue()   # S:3849
    text = out(s)
    assert "node001: 8 written, 1 removed (software image default-image)" in text
    assert text.endswith("imageupdate [ COMPLETED ]\n")
    for n in (n1, n2):
        assert n.read("/srv/app/bin/tool") == b"#!/bin/sh\necho tool v1\n"
        assert stat.S_IMODE(n.stat("/srv/app/bin/tool").st_mode) == 0o755
        assert os.readlink(n.host_path("/srv/app").joinpath("tool")) == "bin/tool"
        assert n.read("/srv/site/readme") == b"hello\n"
        assert n.read("/srv/app/cache/blob") is None                 # excluded by the role's snippet
    assert n1.read("/srv/app/old.txt") is None                        # not in the image: removed
    assert n1.read("/srv/app/etc/local.conf") == b"site-local\n"      # excluded: kept
    assert n1.read("/srv/app/cache/local") == b"node's cache\n"
    assert n1.read("/srv/app/data/keep.db") == b"image's database\n"  # new there: copied
    assert n2.read("/srv/app/data/keep.db") == b"node002's own data\n"  # no new files: kept
    assert nodes.node("node003").read("/srv/app/bin/tool") is None     # not named
    texts = [e.text for e in s.events.log]
    assert "Provisioning started on node node001" in texts
    assert "Provisioning completed on node node002" in texts
    # again: nothing to do; a changed file in the image is one change
    assert s.run_line("imageupdate -n node001..node002")
    assert "node001: up to date (software image default-image)" in out(s)
    (image / "srv/app/etc/app.conf").write_bytes(b"port=9090\n")
    os.utime(image / "srv/app/etc/app.conf", (1_700_000_000, 1_700_000_000))
    assert s.run_line("device use node001; imageupdate -w --wait")                    # S:3736
    text = out(s)
    assert "node001: 1 written, 0 removed (software image default-image)\n  ~ /srv/app/etc/app.conf\n" in text
    assert n1.read("/srv/app/etc/app.conf") == b"port=9090\n"
    assert n2.read("/srv/app/etc/app.conf") == b"port=8080\n"


def test_failures_stay_on_their_node(cluster):
    nodes, s, image = cluster
    nodes.stop_node("node003")
    assert not s.run_line("device; imageupdate -c default -w")
    err = s.env.stderr.getvalue()
    assert "node003: cannot connect" in err
    assert "basecm10" not in err                       # the head node is in no category
    text = out(s)
    assert "node001: 10 written, 0 removed" in text and text.endswith("imageupdate [ FAILED ]\n")
    assert nodes.node("node001").read("/srv/site/readme") == b"hello\n"
    # node004..006 are in category default too but have no sshd here: unreachable, not fatal
    assert "node004: cannot connect" in err
    # refused before anything is reached
    assert not s.run_line("imageupdate basecm10")
    assert "basecm10: is not provisioned from a software image (a headnode)" in s.env.stderr.getvalue()
    assert not s.run_line("imageupdate")
    assert "imageupdate: name the nodes" in s.env.stderr.getvalue()


def test_plan_never_overwrites_what_the_ssh_backend_manages():
    """The files the SSH backend renders for a node are the cluster's; a rule per file keeps
    them (backends/ssh/imageupdate.py managed_rules), and rsync's rules behave as rsync's."""
    from cmshell.backends.ssh.imageupdate import Rule
    import re
    f = Entry("f", 0o644, 0, 0, 10, 1)
    local = {"/etc": Entry("d", 0o755, 0, 0), "/etc/docker": Entry("d", 0o755, 0, 0),
             "/etc/docker/daemon.json": f, "/etc/motd": f}
    managed = Rule(re.compile("^/etc/docker/daemon\\.json$"), False, False, "managed by the ssh backend")
    p = plan("node001", "img", local, {"/etc": local["/etc"], "/etc/docker": local["/etc/docker"]},
             Excludes([managed]))
    assert p.changes == [("+", "/etc/motd")]
    assert p.excluded == [("/etc/docker/daemon.json", "managed by the ssh backend")]
    ex = Excludes([r for r in (rule("+ /var/lib/keep", "a"), rule("- /var/lib/*", "b"), rule("*.log", "c"),
                               rule("/opt/dir/", "d"), rule("/srv/**/tmp", "e")) if r])
    assert ex.why("/var/lib/keep", False) is None and ex.why("/var/lib/x", False) == "b"
    assert ex.why("/var/lib/x/deep", False) == "b"             # below an excluded directory
    assert ex.why("/a/b/c.log", False) == "c" and ex.why("/a/b/c.logs", False) is None
    assert ex.why("/opt/dir", True) == "d" and ex.why("/opt/dir", False) is None   # directories only
    assert ex.why("/srv/a/b/tmp", True) == "e"
