"""The wall-clock budget of a run (``train.minutes``): the time spent so far, across resumed sessions.

The promise to a user is wall clock, so a session's time counts from the moment ``train`` is
called: start-up, compilation and evaluations included. What earlier sessions of the same run spent
is read back from metrics.json (``elapsed_s``), so ``--resume`` continues with what is left.
"""

from __future__ import annotations

import time
from typing import Callable


class Budget:
    """Seconds spent by a run against its budget of ``minutes`` (None: no budget, only steps stop it).

    Args:
      minutes: the run's whole budget (``train.minutes``), or None.
      started: ``clock()`` when this session began.
      spent_before_s: what earlier sessions of the run spent (metrics.json's ``elapsed_s``).
      clock: seconds of a monotonic clock (replaceable in tests).
    """

    def __init__(self, minutes: float | None, *, started: float, spent_before_s: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.minutes = minutes
        self.total_s = None if minutes is None else minutes * 60.0
        self._started = started
        self.spent_before_s = spent_before_s
        self._clock = clock

    def elapsed_s(self) -> float:
        """Seconds the run has spent, this session and the earlier ones."""
        return self.spent_before_s + self._clock() - self._started

    def left_s(self) -> float | None:
        """Seconds left of the budget (0 once spent), or None without a budget."""
        return None if self.total_s is None else max(0.0, self.total_s - self.elapsed_s())

    def fraction(self) -> float:
        """Share of the budget spent, 0..1 (0 without a budget): the learning-rate schedule follows it."""
        return 0.0 if self.total_s is None else min(1.0, self.elapsed_s() / self.total_s)
