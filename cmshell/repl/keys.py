"""Key bindings on top of prompt_toolkit's emacs set (Ctrl-R search, Ctrl-A/E, → accepts a
suggestion …). Enter in a Ctrl-R search runs the line found.

Tab has two styles (`completion readline|menu`, `--completion`):

- readline (the default, as cmsh): Tab completes what every choice shares (a unique choice
  whole, with a space after it); with nothing to add it rings the bell, and a second Tab in a
  row lists the choices in columns below the line (repl/listing.py), then the prompt comes
  back with the typed text. No menu ever appears by itself.
- menu: the same first step; with nothing to add Tab opens prompt_toolkit's menu, then cycles
  through it (and the menu follows the cursor while typing: app.py).

Tab computes its answer directly, not in the completion thread (it is what the user asked
for, and suggest() answers in milliseconds), so typing right after Tab never races an
unfinished completion.
"""
from __future__ import annotations

import os
from typing import Callable


def bindings(completer, style: Callable[[], str]):
    """`style()`: "readline" or "menu", asked at every Tab (the setting may change)."""
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.filters import has_selection, is_searching
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.search import accept_search

    from cmshell.repl import listing

    kb = KeyBindings()

    def fresh(doc) -> list:
        return list(completer.get_completions(doc, CompleteEvent(completion_requested=True)))

    @kb.add("tab", filter=~has_selection)
    def _tab(event):
        b = event.current_buffer
        if style() == "menu":
            _menu_tab(b, fresh)
            return
        b.complete_state = None
        comps = fresh(b.document)
        if not comps:
            event.app.output.bell()
        elif len(comps) == 1:
            b.apply_completion(comps[0])
        elif not _extend(b, comps):
            if event.is_repeat:          # the second Tab in a row: list the choices
                listing.show(event.app, [c.display_text for c in comps])
            else:
                event.app.output.bell()

    @kb.add("enter", filter=is_searching)
    def _found(event):
        """Enter in a Ctrl-R search runs the line found, as readline does."""
        accept_search()
        event.app.current_buffer.validate_and_handle()

    return kb


def _extend(b, comps) -> bool:
    """Replace the word being typed by what every choice shares when that is longer (matching
    is by prefix in any case, as readline's completion-ignore-case: `use dock` → `Docker::Host`,
    `node0` → `node00`). False when there is nothing to add."""
    start = comps[0].start_position
    if any(c.start_position != start for c in comps):
        return False
    typed = b.document.text_before_cursor[len(b.document.text_before_cursor) + start:]
    common = os.path.commonprefix([c.text for c in comps])
    if len(common) <= len(typed):
        return False
    b.delete_before_cursor(-start)
    b.insert_text(common)
    return True


def _menu_tab(b, fresh) -> None:
    """The menu style: the common part first, then the menu, then cycle through it."""
    st = b.complete_state
    if st is not None and st.complete_index is not None:
        b.complete_next()
        return
    if st is not None and st.completions and st.original_document == b.document:
        comps = list(st.completions)         # the menu that appeared while typing
    else:
        b.complete_state = None              # a menu computed for an older text
        comps = fresh(b.document)
    if not comps:
        return
    if len(comps) == 1:
        b.apply_completion(comps[0])
    elif not _extend(b, comps):
        if st is not None and st.original_document == b.document and st.completions:
            b.complete_next()
        else:
            b._set_completions(comps)        # show the menu (prompt_toolkit's own helper)
