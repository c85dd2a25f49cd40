"""The terminal status line of long applies: late, throttled, erased at the end."""
from __future__ import annotations

import io

from cmshell.output.progress import ERASE, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_quick_runs_show_nothing_long_ones_a_throttled_line_erased_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(out, delay=0.5, interval=0.1, clock=clock)
    p("ssh: 1/3 nodes")
    clock.now += 0.2
    p("ssh: 2/3 nodes")
    p("")                                    # over before 0.5 s: nothing was drawn, nothing erased
    assert out.getvalue() == ""
    p("ssh: 1/32 nodes")
    clock.now += 0.6
    p("ssh: 2/32 nodes")
    clock.now += 0.05
    p("ssh: 3/32 nodes")                     # within the interval: skipped
    clock.now += 0.1
    p("ssh: 4/32 nodes")
    p("")
    assert out.getvalue() == f"{ERASE}ssh: 2/32 nodes{ERASE}ssh: 4/32 nodes{ERASE}"


def test_a_closed_terminal_is_ignored() -> None:
    out = io.StringIO()
    out.close()
    p = Progress(out, delay=0, interval=0)
    p("ssh: 1/2 nodes")
    p("")
