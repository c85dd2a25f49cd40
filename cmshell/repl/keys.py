"""Key bindings on top of prompt_toolkit's emacs set (Ctrl-R search, Ctrl-A/E, → accepts a
suggestion …). Enter in a Ctrl-R search runs the line found. Tab follows readline's habit: it completes at once what every candidate shares,
a unique candidate whole; with nothing to add it shows the menu, then cycles through it.

The menu that appears while typing is computed in a worker thread; Tab computes its answer
directly (it is what the user asked for, and suggest() answers in milliseconds), so typing
right after Tab never races an unfinished completion.
"""
from __future__ import annotations


def bindings(completer):
    from prompt_toolkit.completion import CompleteEvent, get_common_complete_suffix
    from prompt_toolkit.filters import has_selection, is_searching
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.search import accept_search

    kb = KeyBindings()

    @kb.add("tab", filter=~has_selection)
    def _tab(event):
        b = event.current_buffer
        doc = b.document
        st = b.complete_state
        if st is not None and st.completions and st.original_document == doc and st.complete_index is None:
            comps = list(st.completions)
        elif st is not None and st.complete_index is not None:
            b.complete_next()
            return
        else:
            if st is not None:             # a menu still being computed for an older text
                b.complete_state = st = None
            comps = list(completer.get_completions(doc, CompleteEvent(completion_requested=True)))
        if not comps:
            return
        if len(comps) == 1:
            b.apply_completion(comps[0])
            return
        common = get_common_complete_suffix(doc, comps)
        if common:
            b.insert_text(common)
        elif st is not None and st.original_document == doc and st.completions:
            b.complete_next()
        else:
            b._set_completions(comps)        # show the menu (prompt_toolkit's own helper)

    @kb.add("enter", filter=is_searching)
    def _found(event):
        """Enter in a Ctrl-R search runs the line found, as readline does."""
        accept_search()
        event.app.current_buffer.validate_and_handle()

    return kb
