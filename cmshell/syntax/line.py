"""Split a cmshell input line into commands: `;` separators, `"` quotes, `#` comments,
`!` shell escapes, `|` pipes and `>`/`>>` redirections, `( … )` command groups."""
from __future__ import annotations

from dataclasses import dataclass, field

from cmshell.syntax.words import pipeline_end, word_at


class LineError(Exception):
    """The line cannot be parsed (message fit for the user)."""


@dataclass
class Command:
    words: list[str] = field(default_factory=list)
    text: str = ""                   # the command as typed (for echo and history)
    shell: str | None = None         # `!cmd`: the rest of the line for the OS shell
    pipe: str | None = None          # `cmd | shell pipeline`
    redirect: tuple[str, str] | None = None   # (">" or ">>", path)


def split(line: str) -> list[Command]:
    """Parse one input line into its commands; raises LineError on unbalanced quotes."""
    commands: list[Command] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t;":
            i += 1
        if i >= n:
            break
        if line[i] == "#":
            break
        if line[i] == "!":
            rest = line[i + 1:].strip()
            commands.append(Command(text=line[i:].strip(), shell=rest))
            break
        cmd, i = _command(line, i)
        if cmd.words or cmd.shell is not None:
            commands.append(cmd)
    return commands


def _command(line: str, i: int) -> tuple[Command, int]:
    start, n = i, len(line)
    words: list[str] = []
    cmd = Command()
    depth = 0
    while i < n:
        c = line[i]
        if c in " \t":
            i += 1
            continue
        if c == ";":
            if depth == 0:
                break
            words.append(";")
            i += 1
            continue
        if c == "#":
            i = n
            break
        if c == "|" and depth == 0:
            end = _shell_end(line, i + 1)
            cmd.pipe = line[i + 1:end].strip()
            if not cmd.pipe:
                raise LineError("Missing command after '|'")
            cmd.text = line[start:end].strip()
            cmd.words = words
            return cmd, end
        if c == ">" and depth == 0:
            op = ">>" if line.startswith(">>", i) else ">"
            i += len(op)
            target, i = _word(line, i)
            if not target:
                raise LineError(f"Missing file name after '{op}'")
            cmd.redirect = (op, target)
            continue
        if c in "()":
            depth += 1 if c == "(" else -1
            if depth < 0:
                raise LineError("Unbalanced parentheses")
            words.append(c)
            i += 1
            continue
        if c in "|>":       # inside ( … ): a pipe or redirection would take the rest of the line
            raise LineError(f"'{c}' inside ( ... ) is not supported; put it after the ')' "
                            f"(foreach * (get ip) {c} ...)")
        w, i = _word(line, i)
        words.append(w)
    if depth:
        raise LineError("Unbalanced parentheses")
    cmd.words = words
    cmd.text = line[start:i].strip()
    return cmd, i


def _shell_end(line: str, i: int) -> int:
    end, unclosed = pipeline_end(line, i)
    if unclosed:
        raise LineError("Unbalanced quotes")
    return end


def _word(line: str, i: int) -> tuple[str, int]:
    """One word starting at i (after blanks)."""
    while i < len(line) and line[i] in " \t":
        i += 1
    w = word_at(line, i)
    if w.unclosed:
        raise LineError("Unbalanced quotes")
    return w.value, w.end
