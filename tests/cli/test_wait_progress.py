"""The progress line of ``canfar wait`` and ``create --wait`` on a terminal: one line rewritten
in place, with the count in each status of N, the time elapsed and an estimate of the time left
once some sessions have ended."""

from __future__ import annotations

import io

from canfar_core.models import SessionInfo


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def states(*statuses: str) -> dict[str, SessionInfo]:
    return {
        f"s{k}": SessionInfo(f"s{k}", f"job-{k}", "headless", "img", status, "canfar")
        for k, status in enumerate(statuses)
    }


def test_the_terminal_line_counts_of_n_and_estimates_the_time_left(monkeypatch):
    from canfar_plugins.session_commands import waiting

    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    clock = iter([1000.0, 1000.0, 1090.0])
    monkeypatch.setattr(waiting.time, "monotonic", lambda: next(clock))
    progress = waiting.WaitProgress()
    progress(states("Pending", "Pending", "Pending", "Pending"))
    progress(states("Completed", "Failed", "Running", "Pending"))
    progress.done()
    lines = screen.getvalue().split("\r")
    assert lines[1] == "Waiting: 4 Pending of 4, 0s\x1b[K"
    assert lines[2] == (
        "Waiting: 1 Pending, 1 Running, 1 Completed, 1 Failed of 4, 1m30s, about 1m30s left\x1b[K\n"
    )


def test_durations_read_at_a_glance():
    from canfar_plugins.session_commands.waiting import duration

    assert [duration(s) for s in (0, 42.9, 185, 7620)] == ["0s", "42s", "3m05s", "2h07m"]
