"""Progress bars (rich) for long work: a count of items, or seconds of material generated."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

LONG_S = 60.0  # generating at least this many seconds of material shows a bar


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, label: str) -> Iterator[Callable[[], None]]:
    """A rich progress bar when ``enabled``; yields a function that advances it by one."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


@contextlib.contextmanager
def seconds_bar(total_s: float, *, label: str = "generating") -> Iterator[Callable[[float], None] | None]:
    """A bar over ``total_s`` seconds of new material, or None for pieces too short to make anyone wait;
    yields a function given the seconds done so far."""
    if total_s < LONG_S:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total_s)
        yield lambda done_s: bar.update(task, completed=min(done_s, total_s))
