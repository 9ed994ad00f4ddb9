"""The learning rate at each step: a linear warm-up, then constant or a cosine fall.

A Transformer trained at a constant Adam rate from step 1 spends its first hundreds of steps
recovering from oversized early updates (Vaswani et al. 2017 warm up for this reason), and a rate
that falls towards the end lets a short CPU budget finish at a lower loss than a constant one.
The harness sets the optimizer's rate (a variable the compiled step reads) from this function before
every step, so a run resumed at step N continues the same curve. Under a wall-clock budget
(``train.minutes``) the fall follows whichever is further along, the steps or the budget, so a run
stopped by its budget still ends at its low rate.
"""

from __future__ import annotations

import math
from typing import Any


def learning_rate_at(train_config: Any, step: int, *, budget_spent: float = 0.0) -> float:
    """The rate of 1-based ``step``: peak ``train.learning_rate`` after ``train.warmup_steps`` (at most
    half the run, so a preset shortened with ``--steps`` still trains at its peak); with
    ``train.decay: cosine`` it then falls along a half cosine to ``train.final_lr`` x peak at
    ``train.steps``, or sooner when ``budget_spent`` (the share of the wall-clock budget spent, 0..1)
    is further along than the steps. The warm-up counts steps only."""
    peak = train_config.learning_rate
    warmup = min(train_config.warmup_steps, train_config.steps // 2)
    if step <= warmup:
        return peak * step / warmup
    if train_config.decay == "constant":
        return peak
    progress = min(1.0, max((step - warmup) / max(1, train_config.steps - warmup), budget_spent))
    floor = train_config.final_lr
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))
