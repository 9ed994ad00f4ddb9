"""What a user watches during training: a rich progress bar and TensorBoard scalars in logs/."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


class Monitor:
    """Progress bar (step, loss, eval loss, items/s, time left) and TensorBoard logging.

    Under a wall-clock budget the time left is the budget's; without one, rich's estimate of the
    time to reach the last step.

    Args:
      log_dir: where the TensorBoard event files go; None logs nothing (non-chief workers).
      start_step, total_steps: the bar's range.
      items_per_step: global batch size, for the items/s figure.
      progress: show the bar.
      eval_loss: the last eval loss so far (a resumed run), shown until the next evaluation.
      seconds_left: what is left of the run's wall-clock budget, or None without a budget.
    """

    def __init__(self, log_dir: Path | None, *, start_step: int, total_steps: int, items_per_step: int,
                 progress: bool, eval_loss: float | None = None, seconds_left: float | None = None) -> None:
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(str(log_dir)) if log_dir is not None else None
        self._items_per_step = items_per_step
        self._window: list[float] = []
        self._window_start = time.perf_counter()
        self._bar = _make_bar(budget=seconds_left is not None) if progress else None
        self._task = None
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("train", total=total_steps, completed=start_step,
                                            loss=float("nan"), rate=0.0, left=_clock(seconds_left),
                                            eval_loss=float("nan") if eval_loss is None else eval_loss)

    def step(self, step: int, loss: float, *, seconds_left: float | None = None) -> None:
        """Record one finished step's training loss (and what is left of the budget)."""
        self._window.append(loss)
        if self._bar is not None:
            self._bar.update(self._task, completed=step, loss=loss, left=_clock(seconds_left))

    def flush(self, step: int, *, learning_rate: float, grad_norm: float) -> None:
        """Write the mean loss and throughput since the last flush to TensorBoard."""
        if not self._window:
            return
        elapsed = max(time.perf_counter() - self._window_start, 1e-9)
        rate = len(self._window) * self._items_per_step / elapsed
        self._scalars(step, train_loss=sum(self._window) / len(self._window), items_per_s=rate,
                      learning_rate=learning_rate, grad_norm=grad_norm)
        if self._bar is not None:
            self._bar.update(self._task, rate=rate)
        self._window = []
        self._window_start = time.perf_counter()

    def evaluated(self, step: int, eval_loss: float, **figures: float) -> None:
        """Show and log an evaluation (and the family's sample figures, e.g. audio ratios)."""
        self._scalars(step, eval_loss=eval_loss, **figures)
        if self._bar is not None:
            self._bar.update(self._task, eval_loss=eval_loss)

    def note(self, message: str) -> None:
        """A line above the bar (e.g. the NaN guard's recovery), or on stdout without a bar."""
        if self._bar is not None:
            self._bar.console.print(message)
        else:
            print(message, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        if self._writer is not None:
            self._writer.close()

    def _scalars(self, step: int, **values: float) -> None:
        import tensorflow as tf

        if self._writer is None:
            return
        with self._writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)


def _clock(seconds: float | None) -> str:
    """``h:mm:ss`` of a budget's time left, as rich shows its own estimate."""
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _make_bar(*, budget: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]step"), MofNCompleteColumn(), BarColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  eval {task.fields[eval_loss]:.4f}  {task.fields[rate]:.0f} items/s"),
        TextColumn("budget left {task.fields[left]}", style="progress.remaining") if budget else TimeRemainingColumn(),
    )
