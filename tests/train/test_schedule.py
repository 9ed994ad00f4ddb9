"""The learning-rate schedule: its curve, its checks, and the harness following it step by step."""

from __future__ import annotations

import pytest
import train_toy

from composer.config import TrainConfig
from composer.errors import ConfigError
from composer.train.schedule import learning_rate_at
from composer.train.trainer import train


def test_constant_rate_is_the_peak_at_every_step():
    config = TrainConfig(steps=100, learning_rate=0.01)
    assert [learning_rate_at(config, s) for s in (1, 50, 100)] == [0.01, 0.01, 0.01]


def test_warm_up_rises_linearly_then_cosine_falls_to_the_floor():
    config = TrainConfig(steps=110, learning_rate=0.01, warmup_steps=10, decay="cosine", final_lr=0.1)
    assert learning_rate_at(config, 1) == pytest.approx(0.001)
    assert learning_rate_at(config, 5) == pytest.approx(0.005)
    assert learning_rate_at(config, 10) == pytest.approx(0.01)
    assert learning_rate_at(config, 60) == pytest.approx(0.01 * (0.1 + 0.9 * 0.5))  # half way down the cosine
    assert learning_rate_at(config, 110) == pytest.approx(0.001)
    rates = [learning_rate_at(config, s) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))


def test_under_a_budget_the_cosine_follows_whichever_is_further_along():
    config = TrainConfig(steps=10_000, minutes=30, learning_rate=0.01, warmup_steps=10, decay="cosine", final_lr=0.1)
    assert learning_rate_at(config, 500, budget_spent=1.0) == pytest.approx(0.001)  # the budget spent: the floor
    assert learning_rate_at(config, 500, budget_spent=0.5) == pytest.approx(0.01 * (0.1 + 0.9 * 0.5))
    assert learning_rate_at(config, 10_000, budget_spent=0.2) == pytest.approx(0.001)  # the steps spent first
    assert learning_rate_at(config, 5, budget_spent=0.9) == pytest.approx(0.005)  # warm-up counts steps only
    spent = [i / 100 for i in range(101)]
    rates = [learning_rate_at(config, 20 + i, budget_spent=f) for i, f in enumerate(spent)]
    assert all(a >= b for a, b in zip(rates, rates[1:])) and rates[-1] == pytest.approx(0.001)


def test_a_budget_leaves_a_constant_rate_alone():
    config = TrainConfig(steps=100, minutes=5, learning_rate=0.01)
    assert learning_rate_at(config, 50, budget_spent=1.0) == 0.01


def test_a_warm_up_longer_than_half_the_run_is_cut_to_half():
    config = TrainConfig(steps=100, learning_rate=0.01, warmup_steps=400, decay="cosine")
    assert learning_rate_at(config, 25) == pytest.approx(0.005)
    assert learning_rate_at(config, 50) == pytest.approx(0.01)


def test_a_negative_warm_up_is_refused():
    with pytest.raises(ConfigError, match=r"^train\.warmup_steps must be >= 0, got -1$"):
        TrainConfig(steps=100, warmup_steps=-1)


@pytest.mark.slow
def test_the_harness_trains_on_the_scheduled_rate(tmp_path):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = train_toy.write_config(tmp_path / "toy.yaml", warmup_steps=20, decay="cosine", final_lr=0.05)
    metrics = train(train_toy.NAME, corpus=train_toy.FakeCorpus(), config_path=config, run_dir=tmp_path / "run",
                    progress=False)
    assert metrics["history"][-1]["eval_loss"] < metrics["history"][0]["eval_loss"]
    events = EventAccumulator(str(tmp_path / "run" / "logs"), size_guidance={"tensors": 0}).Reload()
    logged = {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("learning_rate")}
    expected = TrainConfig(steps=60, learning_rate=0.02, warmup_steps=20, decay="cosine", final_lr=0.05)
    assert logged == pytest.approx({s: learning_rate_at(expected, s) for s in (10, 20, 30, 40, 50, 60)}, rel=1e-6)
