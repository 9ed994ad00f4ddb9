"""The shared training loop: one harness for every model family.

A family supplies the model, batches, loss and samples (``composer.train.family``); this module
does the rest once: config resolution, the run dir, Adam with global-norm clipping, compiled
(distributed) steps, evaluation and the best checkpoint, resume, the wall-clock budget, the NaN
guard, Ctrl-C, logs.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from composer.config import MAX_MINUTES, dump, to_dict
from composer.config import load as load_config
from composer.errors import ConfigError, RunDirError, TrainingError, check_range
from composer.train.budget import Budget
from composer.train.family import ModelFamily, get_family
from composer.train.monitor import Monitor
from composer.train.run import (
    BEST,
    CHECKPOINTS,
    CONFIG,
    CORPUS,
    LOGS,
    META,
    METRICS,
    SAMPLES,
    check_model,
    make_loss_fn,
    mean_loss,
    model_checkpoint,
    read_config,
    read_json,
    write_json,
)
from composer.train.schedule import learning_rate_at
from composer.train.steps import make_agreement, make_optimizer, make_strategy, make_train_step, worker_index


def train(family_name: str, *, corpus: Any, config_path: str | Path | None, run_dir: str | Path,
          steps: int | None = None, minutes: float | None = None, sets: Sequence[str] = (),
          strategy: str = "default", resume: bool = False, progress: bool = True) -> dict:
    """Train ``family_name`` on ``corpus`` into ``run_dir``; returns the metrics.json content.

    Args:
      family_name: a registered family ("performance-rnn", "lstm-vae", "samplernn").
      corpus: an open ``composer.corpus.Corpus`` (or anything the family's methods accept).
      config_path: the preset YAML. With ``resume`` the run's own config.yaml is used and this
        file, if given, must agree with it (train.steps and train.minutes aside, which it sets).
      run_dir: a new or empty directory; with ``resume``, a run dir to continue.
      steps: overrides train.steps (the total step count, also when resuming).
      minutes: overrides train.minutes, the wall-clock budget of the whole run (also when resuming:
        a resumed run trains for what is left of it). Steps or budget, whichever comes first, stops.
      sets: ``KEY=VALUE`` overrides of the preset (dotted keys, e.g. ``train.steps=300``), checked
        like the YAML and recorded at the top of the run's config.yaml. On resume only
        ``train.steps`` and ``train.minutes`` may change.
      strategy: "default", "mirrored" or "multi-worker" (cluster from TF_CONFIG).
      resume: continue from the last checkpoint (same step, optimizer state and data position).
      progress: show a progress bar.
    Raises:
      ConfigError for a bad config, RunDirError for a run dir that does not fit, TrainingError
      when the loss stays non-finite after ``train.nan_retries`` restores.
    """
    import keras

    started = time.monotonic()  # the budget is the user's wall clock: start-up counts
    distribution = make_strategy(strategy)  # first: MultiWorkerMirroredStrategy must precede other TF work
    family = get_family(family_name)
    worker = worker_index(strategy)
    own_dir = Path(run_dir) if worker == 0 else Path(run_dir) / f".worker-{worker}"
    config = _resolve_config(family, config_path, own_dir, steps=steps, minutes=minutes, sets=sets, resume=resume)
    if config.train.batch_size % distribution.num_replicas_in_sync:
        raise ConfigError(f"train.batch_size {config.train.batch_size} must be a multiple of the "
                          f"{distribution.num_replicas_in_sync} replicas of strategy '{strategy}'")
    header = _config_header(config_path, sets, own_dir, resume=resume)
    meta = _prepare_run_dir(family, corpus, config, own_dir, resume=resume, header=header)
    keras.utils.set_random_seed(config.seed)
    previous_policy = keras.mixed_precision.global_policy()
    mixed = config.train.mixed_precision
    keras.mixed_precision.set_global_policy("float32" if mixed == "none" else mixed)
    try:
        trainer = _Trainer(family, corpus, config, meta, own_dir, distribution, chief=worker == 0,
                           started=started)
        return trainer.run(resume=resume, progress=progress and worker == 0)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _resolve_config(family: ModelFamily, config_path: str | Path | None, run_dir: Path, *,
                    steps: int | None, minutes: float | None, sets: Sequence[str], resume: bool) -> Any:
    """The config to train with: the preset for a new run, the run's own config on resume."""
    if resume:
        check_model(run_dir, family.name)
        config = read_config(run_dir, family)
        if config_path is not None or sets:
            given = load_config(config_path or run_dir / CONFIG, family.config_class, sets=sets)
            _check_same_config(given, config, config_path or "--set", run_dir)
            config = dataclasses.replace(config, train=dataclasses.replace(
                config.train, steps=given.train.steps, minutes=given.train.minutes))
    else:
        if run_dir.exists() and not run_dir.is_dir():
            raise RunDirError(f"{run_dir}: is a file, not a folder; choose a new --out for the run dir")
        if _has_content(run_dir):
            raise RunDirError(f"{run_dir}: run dir is not empty; pass --resume to continue it, or choose a new --out")
        if config_path is None:
            raise ConfigError("a config file is needed to start a new run (e.g. configs/<model>/tiny.yaml)")
        config = load_config(config_path, family.config_class, sets=sets)
        if getattr(config, "model", family.name) != family.name:
            raise ConfigError(f"{config_path}: model is '{config.model}', but this trains '{family.name}'")
    if steps is not None:
        check_range("steps", steps, low=0, open_low=True)
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=steps))
    if minutes is not None:
        check_range("--minutes", minutes, low=0, high=MAX_MINUTES, open_low=True)
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, minutes=minutes))
    return config


def _check_same_config(given: Any, stored: Any, config_path: str | Path, run_dir: Path) -> None:
    """On resume, a preset that changes anything but train.steps and train.minutes is a mistake worth naming."""
    given_dict, stored_dict = to_dict(given), to_dict(stored)
    for config in (given_dict, stored_dict):
        config["train"].pop("steps"), config["train"].pop("minutes")
    for key in given_dict:
        if given_dict[key] != stored_dict.get(key):
            raise RunDirError(f"{config_path}: '{key}' differs from {run_dir / CONFIG}; "
                              "resume continues the run's own config (only --steps and --minutes may change)")


def _has_content(run_dir: Path) -> bool:
    """True if the dir holds anything but other workers' private dirs."""
    return run_dir.is_dir() and any(not p.name.startswith(".worker-") for p in run_dir.iterdir())


def _prepare_run_dir(family: ModelFamily, corpus: Any, config: Any, run_dir: Path, *, resume: bool,
                     header: str = "") -> dict:
    """Write config.yaml, corpus.json and meta.json (reusing meta.json when resuming)."""
    dump(config, run_dir / CONFIG, header=header)
    corpus_info = {"name": corpus.name, "fingerprint": corpus.fingerprint(), "chunk_counts": corpus.chunk_counts()}
    if resume and (run_dir / META).is_file():
        trained_on = read_json(run_dir / CORPUS)
        if (trained_on.get("name"), trained_on.get("fingerprint")) != (corpus_info["name"], corpus_info["fingerprint"]):
            raise RunDirError(f"{run_dir}: trained on corpus '{trained_on.get('name')}' "
                              f"({trained_on.get('fingerprint')}), which differs from '{corpus.name}' now; "
                              "resume needs the same corpus")
        return read_json(run_dir / META)
    write_json(run_dir / CORPUS, corpus_info)
    try:
        meta = family.prepare(corpus, config, run_dir)
    except BaseException:  # a new run that never started must not block its own re-run
        for name in () if resume else (CONFIG, CORPUS):
            (run_dir / name).unlink(missing_ok=True)
        raise
    write_json(run_dir / META, meta)
    return meta


def _config_header(config_path: str | Path | None, sets: Sequence[str], run_dir: Path, *, resume: bool) -> str:
    """Where a run's config came from: the preset and each --set, kept across resumes."""
    if resume:
        existing = run_dir / CONFIG
        lines = existing.read_text().splitlines() if existing.is_file() else []
        return "\n".join(line[2:] for line in lines if line.startswith("# "))
    return f"resolved from {config_path}" + "".join(f"\n--set {item}" for item in sets)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _selection(entry: dict, eval_loss: float | None = None) -> float:
    """What the best checkpoint minimizes: the family's "selection_loss" when it gives one, else eval loss."""
    return entry.get("selection_loss", entry.get("eval_loss", eval_loss))


def _best_entry(entry: dict) -> dict:
    """metrics.json's "best": the step, its eval loss and, when the family chose by it, its selection loss."""
    keys = ("step", "eval_loss", "selection_loss", "audio_ratio", "audio_min")
    return {key: entry[key] for key in keys if key in entry}


class _Trainer:
    """One training session over a prepared run dir (the loop's state lives here)."""

    def __init__(self, family: ModelFamily, corpus: Any, config: Any, meta: dict, run_dir: Path,
                 distribution: Any, *, chief: bool, started: float) -> None:
        import keras
        import tensorflow as tf

        self.family = family
        self.config = config
        self.meta = meta
        self.run_dir = run_dir
        self.chief = chief  # worker 0, the one that writes samples
        self.tc = config.train
        with distribution.scope():
            self.model = family.build_model(config, meta)
            self.optimizer = make_optimizer(self.tc)
            self.optimizer.build(self.model.trainable_variables)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.data = iter(family.make_dataset(corpus, config, meta, split="train", training=True))
        self.eval_data = family.make_dataset(corpus, config, meta, split="eval", training=False)
        self.checkpoint = model_checkpoint(self.model, optimizer=self.optimizer, step=self.step, data=self.data,
                                           optimizer_weights=list(self.optimizer.variables))
        self.latest = tf.train.CheckpointManager(self.checkpoint, str(run_dir / CHECKPOINTS),
                                                 max_to_keep=self.tc.keep_checkpoints, step_counter=self.step)
        self.best = tf.train.CheckpointManager(model_checkpoint(self.model, step=self.step),
                                               str(run_dir / BEST), max_to_keep=1, step_counter=self.step)
        self.train_step = make_train_step(family, self.model, self.optimizer, distribution, self.data, self.step,
                                          clip_norm=self.tc.clip_norm, jit_compile=self.tc.jit_compile)
        self.eval_fn = make_loss_fn(family, self.model)
        self.check_grads = not isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)  # it skips inf steps
        self.failures = 0
        self.lr_scale = 1.0  # lowered by the NaN guard; a resumed run starts on the schedule again
        self.since_eval: list[float] = []
        self.budget = Budget(self.tc.minutes, started=started)
        self.agree = make_agreement(distribution)
        self.spent = 0.0  # the share of the budget spent, as all workers agree before each step
        self.metrics = {"model": family.name, "step": 0, "history": [], "best": None,
                        "replicas": distribution.num_replicas_in_sync, "minutes": self.tc.minutes,
                        "elapsed_s": 0.0, "stopped": None}

    def run(self, *, resume: bool, progress: bool) -> dict:
        """Train until ``train.steps`` or the ``train.minutes`` budget, whichever comes first, then
        evaluate once more; Ctrl-C saves a checkpoint and returns early. metrics.json's "stopped"
        says which ("steps", "budget" or "interrupted")."""
        if resume:
            self._restore()
        if self.latest.latest_checkpoint is None:
            self._save()  # a good point for the NaN guard to return to
        step = int(self.step.numpy())
        history = self.metrics["history"]
        monitor = Monitor(self.run_dir / LOGS, start_step=step, total_steps=self.tc.steps,
                          items_per_step=self.tc.batch_size, progress=progress,
                          eval_loss=history[-1]["eval_loss"] if history else None,
                          seconds_left=self.budget.left_s())
        interrupt = _Interrupt()
        try:
            with interrupt:
                while step < self.tc.steps and not interrupt.requested and not self._budget_spent():
                    loss, grad_norm = self._step(step + 1)
                    if not math.isfinite(loss) or (self.check_grads and not math.isfinite(grad_norm)):
                        step = self._recover(loss, monitor)
                        continue
                    step += 1
                    self._after_step(step, loss, grad_norm, monitor)
            return self._finish(step, monitor, interrupted=interrupt.requested)
        finally:
            monitor.close()

    def _finish(self, step: int, monitor: Monitor, *, interrupted: bool) -> dict:
        """Record why the run stopped; a finished run (steps or budget) is evaluated at its last step."""
        if interrupted:
            self.metrics["stopped"] = "interrupted"
            self._save()
            self._write_metrics(step)
            monitor.note(f"interrupted at step {step}: checkpoint saved; continue with --resume")
            return {**self.metrics, "interrupted": True}
        self.metrics["stopped"] = "steps" if step >= self.tc.steps else "budget"
        if self.metrics["stopped"] == "budget":
            monitor.note(f"budget of {self.tc.minutes:g} minutes spent at step {step}: last evaluation")
        if not self.metrics["history"] or self.metrics["history"][-1]["step"] != step:
            self._evaluate(step, monitor)  # after the budget too: short, it is eval_batches
        else:
            self._write_metrics(step)
        return self.metrics

    def _budget_spent(self) -> bool:
        """Whether the budget is spent, by the share every worker agrees on (also the schedule's share)."""
        if self.tc.minutes is not None:
            self.spent = self.agree(self.budget.fraction())
        return self.spent >= 1.0

    def _step(self, step: int) -> tuple[float, float]:
        """One train step; a failed input check in the data pipeline becomes a one-line TrainingError."""
        import tensorflow as tf

        # the rate is a variable the compiled step reads, so the budget's share reaches it every step
        self.optimizer.learning_rate = self.lr_scale * learning_rate_at(self.tc, step, budget_spent=self.spent)
        try:
            loss, grad_norm = (float(v) for v in self.train_step().numpy())
        except tf.errors.InvalidArgumentError as exc:
            lines = exc.message.splitlines()
            reason = next((line for line in lines if "outside" in line or "finite" in line), lines[0])
            reason = reason.split("  ")[0].strip()  # TensorFlow appends every value of the batch
            raise TrainingError(f"bad training input at step {step}: {reason}") from exc
        return loss, grad_norm

    def _after_step(self, step: int, loss: float, grad_norm: float, monitor: Monitor) -> None:
        """Bookkeeping after a good step: logs, evaluation, checkpoints, samples."""
        self.since_eval.append(loss)
        monitor.step(step, loss, seconds_left=self.budget.left_s())
        if step % self.tc.log_every == 0:
            monitor.flush(step, learning_rate=float(self.optimizer.learning_rate.numpy()), grad_norm=grad_norm)
        if step % self.tc.eval_every == 0 or step == self.tc.steps:
            self._evaluate(step, monitor)
        elif step % self.tc.checkpoint_every == 0:
            self._save()
            self._write_metrics(step)  # elapsed_s beside the checkpoint: a resume after SIGKILL knows its budget
        if self.chief and self.tc.sample_every and step % self.tc.sample_every == 0:
            self.family.write_sample(self.model, self.config, self.meta, self.run_dir / SAMPLES, step=step)

    def _evaluate(self, step: int, monitor: Monitor) -> None:
        """Eval loss over up to ``eval_batches`` batches; checkpoint; keep the best; write metrics."""
        eval_loss = _finite_or_none(mean_loss(self.eval_fn, self.eval_data, max_batches=self.tc.eval_batches))
        train_loss = sum(self.since_eval) / len(self.since_eval) if self.since_eval else None
        self.since_eval = []
        listened = self._listen(step, eval_loss) if eval_loss is not None else {}
        self.metrics["history"].append({"step": step, "train_loss": train_loss, "eval_loss": eval_loss, **listened})
        self._save()  # the latest checkpoint is never behind the best one
        best = self.metrics["best"]
        if eval_loss is not None and (best is None or _selection(listened, eval_loss) < _selection(best)):
            self.best.save(checkpoint_number=step)
            self.metrics["best"] = _best_entry(self.metrics["history"][-1])
        self._write_metrics(step)
        if eval_loss is None:
            monitor.note(f"step {step}: no finite eval loss (is the corpus eval split empty?)")
        else:
            monitor.evaluated(step, eval_loss, **listened)

    def _listen(self, step: int, eval_loss: float) -> dict[str, float]:
        """The family's figures of a short sample (``ModelFamily.listen``), if it has any."""
        listen = getattr(self.family, "listen", None)
        return listen(self.model, self.config, self.meta, step=step, eval_loss=eval_loss) if listen else {}

    def _write_metrics(self, step: int) -> None:
        self.metrics["step"] = step
        self.metrics["elapsed_s"] = round(self.budget.elapsed_s(), 1)
        best = self.metrics["best"]
        if best is not None:
            self.metrics.update(self.family.summarize(best["eval_loss"], self.meta))
        write_json(self.run_dir / METRICS, self.metrics)

    def _save(self) -> None:
        self.latest.save(checkpoint_number=self.step)
        self.failures = 0  # the NaN guard counts failures since the last good checkpoint

    def _restore(self) -> None:
        """Continue from the latest checkpoint, the metrics recorded up to it and the time spent so far."""
        path = self.latest.latest_checkpoint
        if path is None:
            return  # killed before the first checkpoint: start over in the same run dir
        self.checkpoint.restore(path).assert_existing_objects_matched()
        step = int(self.step.numpy())
        if (self.run_dir / METRICS).is_file():
            recorded = read_json(self.run_dir / METRICS)
            history = [h for h in recorded.get("history", []) if h["step"] <= step]
            scored = [h for h in history if h.get("eval_loss") is not None]
            best = min(scored, key=_selection) if scored else None
            self.metrics.update(history=history, step=step, best=best and _best_entry(best))
            self.budget.spent_before_s = recorded.get("elapsed_s", 0.0)

    def _recover(self, loss: float, monitor: Monitor) -> int:
        """NaN guard: restore the last good checkpoint at a lower learning rate, or give up."""
        what = "loss" if not math.isfinite(loss) else "gradient"
        at = int(self.step.numpy())
        path = self.latest.latest_checkpoint
        self.failures += 1
        learning_rate = float(self.optimizer.learning_rate.numpy())
        self.checkpoint.restore(path)
        if self.failures > self.tc.nan_retries:
            finding = self._bad_input(at - int(self.step.numpy()) + 1)
            if finding:
                raise TrainingError(f"non-finite {what} at step {at}: the training data is at fault, not the "
                                    f"learning rate: {finding}")
            raise TrainingError(f"non-finite {what} at step {at} after {self.tc.nan_retries} restores of {path} "
                                f"with the learning rate lowered to {learning_rate:.3g}, and its batches hold no "
                                "bad values; try a lower train.learning_rate or train.clip_norm")
        self.lr_scale *= self.tc.nan_lr_factor
        self.since_eval = []
        restored = int(self.step.numpy())
        monitor.note(f"non-finite {what} at step {at}: restored step {restored}, "
                     f"learning rate now {learning_rate * self.tc.nan_lr_factor:.3g}")
        return restored

    def _bad_input(self, n_batches: int) -> str | None:
        """Replay the batches from the restored data position up to the failing step and describe the
        first non-finite or out-of-vocabulary value, or None when they are clean."""
        for offset in range(max(n_batches, 1)):
            problem = batch_problem(next(self.data), num_classes=self.meta.get("num_classes"))
            if problem:
                return f"the batch of step {int(self.step.numpy()) + offset + 1} {problem}"
        return None


def batch_problem(batch: Any, *, num_classes: int | None = None) -> str | None:
    """What is wrong with a batch (non-finite floats, integers outside 0..num_classes-1), or None."""
    import numpy as np

    items = batch.items() if isinstance(batch, dict) else enumerate(batch if isinstance(batch, (list, tuple))
                                                                     else [batch])
    for name, tensor in items:
        values = np.asarray(tensor)
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            return f"has {int((~np.isfinite(values)).sum())} non-finite values in '{name}'"
        if values.dtype.kind in "iu" and values.size:
            low, high = int(values.min()), int(values.max())
            if low < 0 or (num_classes is not None and high >= num_classes):
                bad = low if low < 0 else high
                limit = f"0..{num_classes - 1}" if num_classes is not None else "0 or more"
                return f"holds {bad} in '{name}' (valid: {limit})"
    return None


class _Interrupt:
    """Turn the first Ctrl-C into a request to stop after the current step (a second one aborts)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> "_Interrupt":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
