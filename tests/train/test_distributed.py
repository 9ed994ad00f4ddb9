"""tf.distribute through the harness: MirroredStrategy on two logical CPUs, and two local workers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import train_toy

from composer.train.run import load_run
from composer.train.trainer import train

pytestmark = pytest.mark.slow


def test_mirrored_on_two_logical_cpus_matches_one_device(tmp_path):
    """Two replicas on half batches train exactly like one device on the whole batch."""
    config = train_toy.write_config(tmp_path / "toy.yaml", steps=20, eval_every=10)
    mirrored = train_toy.start_worker(tmp_path / "mirrored", config, "--strategy", "mirrored", "--logical-cpus", "2")
    single = train(train_toy.NAME, corpus=train_toy.FakeCorpus(), config_path=config, run_dir=tmp_path / "single",
                   progress=False)
    mirrored = train_toy.finish(mirrored)
    assert (mirrored["replicas"], single["replicas"]) == (2, 1)
    losses = [h["eval_loss"] for h in mirrored["history"]]
    assert mirrored["step"] == 20 and losses[-1] < 0.5 * losses[0]
    assert losses == pytest.approx([h["eval_loss"] for h in single["history"]], rel=1e-3)


def test_two_local_workers_train_in_step(tmp_path):
    """MultiWorkerMirroredStrategy over 127.0.0.1: both lower the loss and end with the same weights."""
    config = train_toy.write_config(tmp_path / "toy.yaml", steps=20, eval_every=10)
    cluster = {"worker": [f"127.0.0.1:{train_toy.free_port()}", f"127.0.0.1:{train_toy.free_port()}"]}
    workers = [train_toy.start_worker(tmp_path / "run", config, "--strategy", "multi-worker", env={
        "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}) for i in range(2)]
    results = [train_toy.finish(worker) for worker in workers]
    for metrics in results:
        losses = [h["eval_loss"] for h in metrics["history"]]
        assert metrics["replicas"] == 2 and metrics["step"] == 20 and losses[-1] < 0.5 * losses[0]
    assert results[0]["history"] == results[1]["history"]
    chief = load_run(tmp_path / "run", checkpoint="latest").model.get_weights()
    other = load_run(tmp_path / "run" / ".worker-1", checkpoint="latest").model.get_weights()
    for a, b in zip(chief, other):
        np.testing.assert_array_equal(a, b)
