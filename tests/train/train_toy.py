"""A toy model family for the harness tests: a tiny causal convolution predicting the next
token of arithmetic sequences (x_t = x_0 + k t mod vocab) from the last two, learnt within tens
of steps (a convolution rather than an LSTM: it compiles several times faster).

``nan_at`` makes the n-th training loss (and so every gradient) NaN; with ``nan_forever``
every call from then on is NaN. The call counter lives on the family, not the model, so a
checkpoint restore does not rewind it (a one-off fault, as in real divergence).
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np

from composer.config import TrainConfig
from composer.train.family import FAMILIES

NAME = "toy-conv"


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    model: str = NAME
    seed: int = 0
    vocab: int = 12
    hidden: int = 32
    nan_at: int = 0
    nan_forever: bool = False
    interrupt_at_sample: bool = False  # write_sample sends this process SIGINT (a user's Ctrl-C)
    train: TrainConfig = TrainConfig()


class FakeCorpus:
    """Stands in for composer.corpus.Corpus: a name, a fingerprint, and int32 [n, length] per split."""

    def __init__(self, name: str = "toy", *, n_train: int = 256, n_eval: int = 32, length: int = 17,
                 vocab: int = 12, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.name = name
        self.splits = {split: _sequences(rng, n, length, vocab) for split, n in (("train", n_train), ("eval", n_eval))}

    def fingerprint(self) -> str:
        return f"{self.name}-{sum(int(a.sum()) for a in self.splits.values())}"

    def chunk_counts(self) -> dict:
        return {split: {"symbolic": len(a), "audio": 0} for split, a in self.splits.items()}


def _sequences(rng: np.random.Generator, n: int, length: int, vocab: int) -> np.ndarray:
    start = rng.integers(0, vocab, size=(n, 1))
    stride = rng.integers(1, 4, size=(n, 1))
    return ((start + stride * np.arange(length)) % vocab).astype(np.int32)


class ToyFamily:
    name = NAME
    config_class = ToyConfig

    def __init__(self) -> None:
        self._calls = None
        self._nan = (0, False)

    def prepare(self, corpus: FakeCorpus, config: ToyConfig, run_dir: Path) -> dict:
        return {"vocab": config.vocab, "train_items": int(len(corpus.splits["train"]))}

    def build_model(self, config: ToyConfig, meta: dict) -> Any:
        import keras
        import tensorflow as tf

        self._nan = (config.nan_at, config.nan_forever)
        with tf.init_scope():
            self._calls = tf.Variable(0, dtype=tf.int64, trainable=False)
        tokens = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(meta["vocab"], 16)(tokens)
        x = keras.layers.Conv1D(config.hidden, 2, padding="causal", activation="relu")(x)
        return keras.Model(tokens, keras.layers.Dense(meta["vocab"])(x))

    def make_dataset(self, corpus: FakeCorpus, config: ToyConfig, meta: dict, *, split: str, training: bool) -> Any:
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices(corpus.splits[split])
        if training:
            dataset = dataset.shuffle(len(corpus.splits[split]), seed=config.seed).repeat()
        return dataset.batch(config.train.batch_size, drop_remainder=training)

    def compute_loss(self, model: Any, batch: Any, *, training: bool) -> Any:
        import keras
        import tensorflow as tf

        logits = model(batch[:, :-1], training=training)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(batch[:, 1:], logits, from_logits=True))
        nan_at, forever = self._nan
        if training and nan_at:
            calls = self._calls.assign_add(1)
            bad = calls >= nan_at if forever else tf.equal(calls, nan_at)
            loss = loss * tf.where(bad, float("nan"), 1.0)
        return loss

    def summarize(self, eval_loss: float, meta: dict) -> dict:
        return {"eval_perplexity": math.exp(eval_loss)}

    def write_sample(self, model: Any, config: ToyConfig, meta: dict, out_dir: Path, *, step: int) -> list[Path]:
        if config.interrupt_at_sample:
            os.kill(os.getpid(), signal.SIGINT)
        tokens = [0, 1]
        for _ in range(8):
            tokens.append(int(np.argmax(model.predict(np.array([tokens]), verbose=0)[0, -1])))
        path = Path(out_dir) / f"step-{step}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(" ".join(map(str, tokens)) + "\n")
        return [path]

    def generate(self, run_dir: Path, *, out: Path, **options: Any) -> list[Path]:
        raise NotImplementedError


FAMILY = ToyFamily()
FAMILIES[NAME] = "train_toy:FAMILY"


def write_config(path: Path, **train: Any) -> Path:
    """A toy preset YAML with small, fast train settings (overridable)."""
    import yaml

    family_keys = {k: train.pop(k) for k in ("nan_at", "nan_forever", "interrupt_at_sample") if k in train}
    settings = {"steps": 60, "batch_size": 16, "learning_rate": 0.02, "eval_every": 20, "eval_batches": 2,
                "checkpoint_every": 20, "log_every": 10, **train}
    path.write_text(yaml.safe_dump({"model": NAME, "seed": 0, **family_keys, "train": settings}))
    return path


def free_port() -> int:
    """A local TCP port nothing listens on, for a worker of a multi-worker cluster."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_worker(run_dir: Path, config: Path | None, *args: str, env: dict | None = None) -> Any:
    """Start tests/train/train_worker.py (the harness in a fresh process); returns the Popen."""
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    command = [sys.executable, str(here / "train_worker.py"), str(run_dir), *args]
    if config is not None:
        command += ["--config", str(config)]
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(here.parents[1]), **(env or {})}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env)


def finish(process: Any, timeout_s: float = 300) -> dict:
    """Wait for a worker; return its metrics (the last stdout line), failing with its stderr."""
    import json

    out, err = process.communicate(timeout=timeout_s)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])
