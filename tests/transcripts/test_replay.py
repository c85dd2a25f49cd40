"""Replay the cmsh sessions of the BCM 10 Containerization Manual, the BCM 11 Administrator
Manual (section 2.5) and the Mission Control guide (tests/transcripts/*.txt) through cmshell's
real entry points, and compare with the expected transcript.

Every transcript is replayed three ways, each in-process (`cli.main`) on its own copy of the store:
  (a) the commands on stdin with --show-prompt: the whole output must equal the transcript;
  (b) the commands in a file, -f FILE --show-prompt: same;
  (c) -c "cmd1; cmd2; ..." without prompts: the output must equal the transcript less its
      prompt lines.
The format of the files is described in README.md beside this file.

    python3 tests/transcripts/test_replay.py FILE...   prints what cmshell gives for FILE
"""
from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
from dataclasses import dataclass, field, replace

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if os.path.dirname(HERE) not in sys.path:       # run as a script: conftest.py is beside tests/
    sys.path.insert(0, os.path.dirname(HERE))

from conftest import Result, run_in_process  # noqa: E402
FILES = os.path.join(HERE, "files")
DEMO = os.path.join(ROOT, "fixtures", "basecm10.yaml")
HOST = "basecm10"
HEADERS = ("source", "setup", "start", "note", "expect-error")
# `[basecm10]% cmd`, `[basecm10->device[node001]->roles]% cmd`, or a bare `[...]%`
PROMPT = re.compile(r"^(\[" + HOST + r"(?:->.*?)?\]%)(?: (.*))?$")


@dataclass
class Transcript:
    path: str
    source: str = ""
    setup: list[str] = field(default_factory=list)    # cmshell -c lines, committed before
    start: list[str] = field(default_factory=list)    # silent navigation before the session
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # expected stderr lines
    body: str = ""                                    # the session: prompts and output
    commands: list[str] = field(default_factory=list)  # one per prompt line ("" for a bare one)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def with_files(self, files: str) -> "Transcript":
        """`$FILES` (in setup, start, commands and expected output) → the files folder."""
        sub = lambda text: text.replace("$FILES", files)  # noqa: E731
        return replace(self, setup=[sub(c) for c in self.setup], start=[sub(c) for c in self.start],
                       body=sub(self.body), commands=[sub(c) for c in self.commands])

    def expected_without_prompts(self) -> str:
        return "".join(line + "\n" for line in self.body.splitlines() if not PROMPT.match(line))


def make_files(dest: str) -> str:
    """tests/transcripts/files, in `dest` (what $FILES stands for)."""
    shutil.copytree(FILES, dest, dirs_exist_ok=True)
    return dest


def parse(path: str) -> Transcript:
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    t = Transcript(path)
    i = 0
    while i < len(lines) and not PROMPT.match(lines[i]):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        m = re.match(r"^# ([a-z-]+):(?: (.*))?$", line)
        if not m or m.group(1) not in HEADERS:
            raise ValueError(f"{path}:{i}: expected a header line '# <{'|'.join(HEADERS)}>: ...'")
        key, value = m.group(1), m.group(2) or ""
        if key == "source":
            t.source = value
        elif key == "setup":
            t.setup.append(value)
        elif key == "start":
            t.start.extend(c.strip() for c in value.split(";") if c.strip())
        elif key == "note":
            t.notes.append(value)
        else:
            t.errors.append(value)
    body = lines[i:]
    if not body:
        raise ValueError(f"{path}: no session (prompt lines) after the headers")
    t.body = "".join(line + "\n" for line in body)
    t.commands = [m.group(2) or "" for m in map(PROMPT.match, t.body.splitlines()) if m]
    return t


def strip_comment(command: str) -> str:
    """`.. #but, we're ...` → `..` (a `#` outside double quotes ends a -c command)."""
    quoted = False
    for i, c in enumerate(command):
        if c == '"':
            quoted = not quoted
        elif c == "#" and not quoted and (i == 0 or command[i - 1] in " \t"):
            return command[:i].rstrip()
    return command


_SCRUB = ("CMSHELL_DB", "CMSHELL_DEBUG", "NO_COLOR", "XDG_DATA_HOME", "XDG_CONFIG_HOME",
          "VISUAL", "EDITOR", "PYTHONSTARTUP", "PYTHONINSPECT")
_HOME: list[str] = []      # a private HOME (and schema cache) for every child, made on first use


def child_env() -> dict:
    if not _HOME:
        import atexit
        import tempfile
        home = tempfile.mkdtemp(prefix="cmshell-transcripts-")
        atexit.register(shutil.rmtree, home, True)
        _HOME.append(home)
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(HOME=_HOME[0], XDG_CACHE_HOME=os.path.join(_HOME[0], ".cache"), USER="tester",
               LOGNAME="tester", LC_ALL="C.UTF-8",
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return env


def cmshell(db: str, *args: str, stdin: str | None = None) -> Result:
    """`cmshell --db DB -n ARGS`, run in this process (see conftest.run_in_process)."""
    return run_in_process(["--db", db, "-n", *args], input=stdin, environ=child_env(), cwd=ROOT)


def copy_store(src: str, dst: str) -> str:
    """A private copy (0600, as cmshell makes stores: a wider one is tightened with a warning)."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)
            os.chmod(dst + suffix, 0o600)
    return dst


def make_store(template: str, dest: str, t: Transcript) -> str:
    copy_store(template, dest)
    for line in t.setup:
        r = cmshell(dest, "-c", line)
        if r.returncode != 0 or r.stderr:
            raise AssertionError(f"{t.name}: setup failed: {line}\n{r.stdout}{r.stderr}")
    return dest


def replays(t: Transcript, db_of) -> dict:
    """Run the three replays; name -> (expected, Result)."""
    commands = t.start + t.commands
    script = "".join(c + "\n" for c in commands)
    one_line = "; ".join(c for c in (strip_comment(c) for c in commands) if c)
    script_file = db_of("script") + ".cmsh"
    with open(script_file, "w", encoding="utf-8") as fh:
        fh.write(script)
    jobs = {
        "stdin": (t.body, lambda: cmshell(db_of("a"), "--show-prompt", stdin=script)),
        "file": (t.body, lambda: cmshell(db_of("b"), "-f", script_file, "--show-prompt")),
        "command": (t.expected_without_prompts(), lambda: cmshell(db_of("c"), "-c", one_line)),
    }
    return {k: (expected, run()) for k, (expected, run) in jobs.items()}


def drop_start_echo(t: Transcript, output: str) -> str:
    """The --show-prompt echo of the `# start:` commands: one prompt line each, no output."""
    lines = output.splitlines(keepends=True)
    for i, cmd in enumerate(t.start):
        if i >= len(lines):
            raise AssertionError(f"{t.name}: the start commands printed less than their echo")
        m = PROMPT.match(lines[i].rstrip("\n"))
        if not m or (m.group(2) or "") != cmd:
            raise AssertionError(f"{t.name}: start command {cmd!r} printed output or moved the echo:\n"
                                 + "".join(lines[: len(t.start) + 3]))
    return "".join(lines[len(t.start):])


def diff(expected: str, actual: str, what: str) -> str:
    return "".join(difflib.unified_diff(expected.splitlines(keepends=True),
                                        actual.splitlines(keepends=True),
                                        f"expected ({what})", f"cmshell ({what})"))


TRANSCRIPTS = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".txt"))


@pytest.fixture(scope="session")
def files_dir(tmp_path_factory) -> str:
    return make_files(str(tmp_path_factory.mktemp("files")))


@pytest.fixture(scope="session")
def transcript_template_db(tmp_path_factory) -> str:
    """The demo cluster, loaded once; every replay works on a copy."""
    path = str(tmp_path_factory.mktemp("template") / "basecm10.db")
    r = cmshell(path, "--load", DEMO)
    assert r.returncode == 0 and not r.stderr, r.stderr
    return path


def test_transcripts_exist():
    assert len(TRANSCRIPTS) >= 30


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[os.path.basename(p)[:-4] for p in TRANSCRIPTS])
def test_replay(path, transcript_template_db, files_dir, tmp_path):
    t = parse(path).with_files(files_dir)
    base = make_store(transcript_template_db, str(tmp_path / "setup.db"), t)

    def db_of(tag):
        dest = str(tmp_path / f"{tag}.db")
        if tag != "script":
            copy_store(base, dest)
        return dest

    failures = []
    for how, (expected, r) in replays(t, db_of).items():
        out = r.stdout
        if how != "command":
            try:
                out = drop_start_echo(t, out)
            except AssertionError as e:
                failures.append(f"[{how}] {e}")
                continue
        if out != expected:
            failures.append(f"[{how}] output differs:\n" + diff(expected, out, how))
        want_err = "".join(e + "\n" for e in t.errors)
        if r.stderr != want_err:
            failures.append(f"[{how}] stderr:\n" + diff(want_err, r.stderr, how + " stderr"))
        if r.returncode != (1 if t.errors else 0):
            failures.append(f"[{how}] exit status {r.returncode}")
    if failures:
        pytest.fail(f"{t.name} ({t.source}):\n" + "\n".join(failures), pytrace=False)


def main(argv: list[str]) -> int:
    """Print cmshell's --show-prompt replay of each transcript (for writing new ones)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        template = os.path.join(tmp, "template.db")
        cmshell(template, "--load", DEMO)
        files = make_files(os.path.join(tmp, "files"))
        for path in argv:
            t = parse(path).with_files(files)
            db = make_store(template, os.path.join(tmp, "s.db"), t)
            script = "".join(c + "\n" for c in t.start + t.commands)
            r = cmshell(db, "--show-prompt", stdin=script)
            sys.stdout.write(drop_start_echo(t, r.stdout) if not r.stderr else r.stdout)
            sys.stderr.write(r.stderr)
            os.remove(db)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
