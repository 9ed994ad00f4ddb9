"""The run directory: its layout, and loading a trained model back from it.

A run dir is self-describing, so ``generate`` and ``evaluate`` need nothing else:

```
RUN_DIR/config.yaml          resolved config (composer.config.dump); names the model
RUN_DIR/meta.json            what family.prepare computed (vocabulary, statistics, ...)
RUN_DIR/corpus.json          corpus name, fingerprint and chunk counts it was trained on
RUN_DIR/checkpoints/         latest checkpoints: model, optimizer, step, train data position
RUN_DIR/checkpoints/best/    model and step of the lowest eval loss
RUN_DIR/logs/                TensorBoard scalars
RUN_DIR/metrics.json         {"model", "step", "history", "best", ...family.summarize keys}
RUN_DIR/samples/             what family.write_sample wrote during training
```

Every file here is written atomically (temp file, then rename), so a SIGKILL leaves either the
old or the new version, never half of one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Literal

import yaml

from composer.atomic import write_text_atomic
from composer.config import load as load_config
from composer.errors import ConfigError, RunDirError
from composer.train.family import ModelFamily, get_family

CONFIG = "config.yaml"
META = "meta.json"
CORPUS = "corpus.json"
METRICS = "metrics.json"
CHECKPOINTS = "checkpoints"
BEST = "checkpoints/best"
LOGS = "logs"
SAMPLES = "samples"


@dataclasses.dataclass
class Run:
    """A trained run loaded back: the family, its config and metadata, and the restored model."""

    family: ModelFamily
    config: Any
    meta: dict
    model: Any
    run_dir: Path
    step: int


def sample_file(samples_dir: Path, step: int, suffix: str) -> Path:
    """Where a family writes the sample of training step ``step``: one name pattern for every family."""
    return Path(samples_dir) / f"step-{step:07d}{suffix}"


def read_json(path: Path) -> dict:
    """Read a JSON file of the run dir, as a RunDirError when missing or corrupt."""
    if not path.is_file():
        raise RunDirError(f"{path}: missing (the run dir is incomplete)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc})") from None


def write_json(path: Path, value: dict) -> None:
    """Write ``value`` as indented JSON atomically."""
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")


def model_name(run_dir: Path) -> str:
    """The model family recorded in ``run_dir/config.yaml``."""
    config_path = Path(run_dir) / CONFIG
    if not config_path.is_file():
        raise RunDirError(f"{run_dir}: not a run directory (no {CONFIG}; train one with `composer train`)")
    try:
        raw = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError:
        raise RunDirError(f"{config_path}: not valid YAML") from None
    if not isinstance(raw, dict) or not raw.get("model"):
        raise RunDirError(f"{config_path}: no 'model' key")
    return raw["model"]


def check_model(run_dir: Path, expected: str) -> None:
    """Refuse to treat a run dir of one model family as another's."""
    found = model_name(run_dir)
    if found != expected:
        raise RunDirError(f"{run_dir}: this run trained '{found}', not '{expected}'")


def read_config(run_dir: Path, family: ModelFamily) -> Any:
    """The resolved config stored in the run dir, as the family's config class."""
    try:
        return load_config(Path(run_dir) / CONFIG, family.config_class)
    except ConfigError as exc:
        raise RunDirError(str(exc)) from None


def model_checkpoint(model: Any, **others: Any) -> Any:
    """A ``tf.train.Checkpoint`` of ``model`` (plus ``others``) that holds every model variable.

    Keras 3 layers kept in a Python list are invisible to TensorFlow's checkpoint object graph,
    so their weights would silently be left out; listing ``model.variables`` explicitly (in the
    model's deterministic build order) saves and restores them all.
    """
    import tensorflow as tf

    return tf.train.Checkpoint(model=model, weights=list(model.variables), **others)


def checkpoint_path(run_dir: Path, which: Literal["best", "latest"]) -> str | None:
    """Path prefix of the best (falling back to latest) or latest checkpoint, or None if none yet."""
    import tensorflow as tf

    if which not in ("best", "latest"):
        raise RunDirError(f"checkpoint must be 'best' or 'latest', got '{which}'")
    best = tf.train.latest_checkpoint(str(Path(run_dir) / BEST)) if which == "best" else None
    return best or tf.train.latest_checkpoint(str(Path(run_dir) / CHECKPOINTS))


def load_run(run_dir: str | Path, *, checkpoint: Literal["best", "latest"] = "best",
             model: str | None = None) -> Run:
    """Rebuild the model of ``run_dir`` from its config and meta, and restore its weights.

    Args:
      run_dir: a directory written by ``composer.train.trainer.train``.
      checkpoint: "best" (lowest eval loss; the latest when no evaluation ran yet) or "latest".
      model: if given, the family the caller expects; another family's run is a RunDirError.
    Raises:
      RunDirError when the dir is incomplete, of another model, or its checkpoint does not fit.
    """
    import tensorflow as tf

    run_dir = Path(run_dir)
    name = model_name(run_dir)
    if model is not None:
        check_model(run_dir, model)
    family = get_family(name)
    config = read_config(run_dir, family)
    meta = read_json(run_dir / META)
    path = checkpoint_path(run_dir, checkpoint)
    if path is None:
        raise RunDirError(f"{run_dir}: no checkpoint in {CHECKPOINTS}/ (training never saved one)")
    keras_model = family.build_model(config, meta)
    step = tf.Variable(0, dtype=tf.int64)
    status = model_checkpoint(keras_model, step=step).restore(path).expect_partial()
    try:
        status.assert_existing_objects_matched()
    except AssertionError:
        raise RunDirError(f"{path}: checkpoint does not fit the model that {CONFIG} builds "
                          "(trained by another version of composer, or the config was edited)") from None
    return Run(family=family, config=config, meta=meta, model=keras_model, run_dir=run_dir, step=int(step.numpy()))


def make_loss_fn(family: ModelFamily, model: Any) -> Any:
    """The family's eval loss of one batch, compiled once (float32 scalar)."""
    import tensorflow as tf

    return tf.function(lambda batch: tf.cast(family.compute_loss(model, batch, training=False), tf.float32),
                       reduce_retracing=True)


def mean_loss(loss_fn: Any, dataset: Any, *, max_batches: int | None) -> float:
    """Mean of ``loss_fn(batch)`` over up to ``max_batches`` batches; nan for an empty dataset."""
    if max_batches is not None:
        dataset = dataset.take(max_batches)
    losses = [float(loss_fn(batch)) for batch in dataset]
    return sum(losses) / len(losses) if losses else float("nan")


def eval_loss(run: Run, corpus: Any, *, max_batches: int | None = None) -> float:
    """Mean eval-split loss of a loaded run (nats per unit of its family), over all batches by default."""
    dataset = run.family.make_dataset(corpus, run.config, run.meta, split="eval", training=False)
    loss = mean_loss(make_loss_fn(run.family, run.model), dataset, max_batches=max_batches)
    if loss != loss:
        raise RunDirError(f"corpus '{getattr(corpus, 'name', corpus)}' gives no eval batches for {run.run_dir}")
    return loss
