"""The wall-clock budget (train.minutes): the clock itself, a run it stops, and resuming a budgeted run."""

from __future__ import annotations

import json
import time

import pytest
import train_toy
import yaml

from composer.train.budget import Budget
from composer.train.run import load_run
from composer.train.trainer import train

BUDGET_S = 8.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_counts_earlier_sessions_and_what_is_left():
    clock = FakeClock()
    budget = Budget(1.0, started=clock(), spent_before_s=15.0, clock=clock)
    assert (budget.elapsed_s(), budget.left_s(), budget.fraction()) == (15.0, 45.0, 0.25)
    clock.now += 45.0
    assert (budget.elapsed_s(), budget.left_s(), budget.fraction()) == (60.0, 0.0, 1.0)
    clock.now += 10.0
    assert (budget.left_s(), budget.fraction()) == (0.0, 1.0)


def test_without_a_budget_only_the_steps_stop_a_run():
    clock = FakeClock()
    budget = Budget(None, started=clock(), clock=clock)
    clock.now += 1e6
    assert (budget.left_s(), budget.fraction()) == (None, 0.0)


def _config(tmp_path, **train):
    """A toy preset far more steps than the budget allows, on a cosine to 0.05 of its peak."""
    settings = {"steps": 1_000_000, "minutes": BUDGET_S / 60, "eval_every": 250, "checkpoint_every": 100,
                "decay": "cosine", "final_lr": 0.05, **train}
    return train_toy.write_config(tmp_path / "toy.yaml", **settings)


def _train(config, run_dir, **options):
    return train(train_toy.NAME, corpus=train_toy.FakeCorpus(), config_path=config, run_dir=run_dir,
                 progress=False, **options)


@pytest.mark.slow
def test_a_budget_stops_a_run_cleanly_at_its_low_rate(tmp_path):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    metrics = _train(_config(tmp_path), run_dir)
    assert metrics["stopped"] == "budget" and metrics["minutes"] == pytest.approx(BUDGET_S / 60)
    assert 0 < metrics["step"] < 1_000_000
    assert BUDGET_S <= metrics["elapsed_s"] < BUDGET_S + 10  # the last evaluation is a few toy batches
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics
    assert metrics["history"][-1]["step"] == metrics["step"]  # the last evaluation, at the last step
    assert load_run(run_dir, checkpoint="latest").step == metrics["step"]
    best = min(metrics["history"], key=lambda h: h["eval_loss"])
    assert metrics["best"] == {"step": best["step"], "eval_loss": best["eval_loss"]}
    assert load_run(run_dir).step == best["step"]
    events = EventAccumulator(str(run_dir / "logs"), size_guidance={"tensors": 0}).Reload()
    rates = [float(tf.make_ndarray(e.tensor_proto)) for e in events.Tensors("learning_rate")]
    assert rates[-1] < 0.02 * 0.08 < rates[0]  # peak 0.02, floor 0.05 of it: the budget took it there


@pytest.mark.slow
def test_resume_trains_for_what_is_left_and_a_new_budget_replaces_it(tmp_path):
    run_dir = tmp_path / "run"
    first = _train(_config(tmp_path, steps=300), run_dir)  # stopped by its steps, within the budget
    assert first["stopped"] == "steps" and first["step"] == 300 and 0 < first["elapsed_s"] < BUDGET_S

    begun = time.monotonic()
    second = _train(_config(tmp_path), run_dir, steps=1_000_000, resume=True)
    session_s = time.monotonic() - begun
    assert second["stopped"] == "budget" and second["step"] > 300
    assert BUDGET_S <= second["elapsed_s"] < BUDGET_S + 10
    # what is left, not the whole budget again: both sessions' time adds up to the run's elapsed_s
    assert second["elapsed_s"] == pytest.approx(first["elapsed_s"] + session_s, abs=1.0)

    third = _train(None, run_dir, minutes=2 * BUDGET_S / 60, resume=True)
    assert third["stopped"] == "budget" and third["step"] > second["step"]
    assert 2 * BUDGET_S <= third["elapsed_s"] < 2 * BUDGET_S + 10
    assert third["minutes"] == pytest.approx(2 * BUDGET_S / 60)
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["train"]["minutes"] == pytest.approx(2 * BUDGET_S / 60)
    steps = [h["step"] for h in third["history"]]
    assert steps == sorted(set(steps)) and steps[-1] == third["step"]


@pytest.mark.slow
def test_a_spent_budget_resumed_trains_no_further(tmp_path):
    run_dir = tmp_path / "run"
    first = _train(_config(tmp_path, minutes=0.05), run_dir)
    again = _train(None, run_dir, resume=True)
    assert again["stopped"] == "budget" and again["step"] == first["step"]
    assert again["history"] == first["history"] and again["elapsed_s"] >= first["elapsed_s"]


@pytest.mark.slow
def test_two_workers_on_one_budget_stop_at_the_same_step(tmp_path):
    """The second worker starts later, so its clock lags; the step averages the workers' shares of the
    budget, so both stop together instead of one waiting for the other in an all-reduce."""
    config = _config(tmp_path)
    cluster = {"worker": [f"127.0.0.1:{train_toy.free_port()}", f"127.0.0.1:{train_toy.free_port()}"]}
    workers = []
    for index in range(2):
        env = {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(train_toy.start_worker(tmp_path / "run", config, "--strategy", "multi-worker", env=env))
        time.sleep(2.0)
    results = [train_toy.finish(worker, timeout_s=180) for worker in workers]
    assert [r["stopped"] for r in results] == ["budget", "budget"]
    assert results[0]["step"] == results[1]["step"] > 0
    assert results[0]["history"] == results[1]["history"]
