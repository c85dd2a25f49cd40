"""The list readline prints on a second Tab: the choices in columns below the line, sorted down
the columns, then the prompt again with the typed text. More than QUERY_ITEMS choices are
listed only after `Display all N possibilities? (y or n)` (readline's completion-query-items).
"""
from __future__ import annotations

import math

QUERY_ITEMS = 100
GAP = 2               # readline's spaces between columns


def columns(names: list[str], width: int) -> list[str]:
    """The lines that list `names` in columns across `width`, down each column first (as
    readline's print-completions-horizontally off); no trailing spaces."""
    if not names:
        return []
    cell = max(len(n) for n in names) + GAP
    ncols = max(1, width // cell)
    nrows = math.ceil(len(names) / ncols)
    lines = []
    for r in range(nrows):
        row = [names[c * nrows + r] for c in range(ncols) if c * nrows + r < len(names)]
        lines.append("".join(n.ljust(cell) for n in row).rstrip())
    return lines


def show(app, names: list[str]) -> None:
    """List `names` under the line being typed (the line stays on screen as typed), then redraw
    the prompt with the same text; asks first when there are many. Runs as the application's
    background task: a key binding must not wait."""
    from prompt_toolkit.application import in_terminal

    async def run() -> None:
        async with in_terminal(render_cli_done=True):
            out = app.output
            if len(names) > QUERY_ITEMS and not await _ask(out, f"Display all {len(names)} possibilities? (y or n)"):
                return
            out.write("\n".join(columns(names, out.get_size().columns)) + "\n")
            out.flush()

    app.create_background_task(run())


async def _ask(output, question: str) -> bool:
    """readline's question: y, Y or space list; n, N, Delete, Ctrl-C or Ctrl-D do not."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys

    kb = KeyBindings()

    def answer(value: bool):
        def handler(event) -> None:
            event.app.exit(result=value)
        return handler

    for key in ("y", "Y", " "):
        kb.add(key)(answer(True))
    for key in ("n", "N", "delete", "backspace", "c-c", "c-d"):
        kb.add(key)(answer(False))
    kb.add(Keys.Any)(lambda event: None)          # nothing else is typed in
    return bool(await PromptSession(question, key_bindings=kb, output=output).prompt_async())
