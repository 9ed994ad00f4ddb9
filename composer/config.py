"""Typed configs: frozen dataclasses loaded from YAML and validated on load.

Every model family declares one frozen dataclass (with a nested ``TrainConfig``); ``load``
turns a YAML file into it, rejecting unknown keys and wrong types with a one-line
``ConfigError`` that names the key and the file. ``dump`` writes the resolved config that a
run dir keeps, so ``generate`` and ``evaluate`` rebuild exactly what was trained.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, Literal, Sequence, TypeVar

import yaml

from composer.atomic import write_text_atomic
from composer.errors import ConfigError, check_range

T = TypeVar("T")
MAX_MINUTES = 30 * 24 * 60  # a month of wall clock: a longer budget is a typo, not a plan


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Options of the shared training harness, common to every model family."""

    steps: int = 1000  # the ceiling; with ``minutes`` set, whichever is reached first stops the run
    minutes: float | None = None  # wall-clock budget of the whole run, evaluations included (train/budget.py)
    batch_size: int = 32
    learning_rate: float = 1e-3  # the peak rate when a schedule is set
    warmup_steps: int = 0  # linear warm-up from 0 over this many steps, at most half the run (train/schedule.py)
    decay: Literal["constant", "cosine"] = "constant"  # after the warm-up
    final_lr: float = 0.1  # cosine decay ends at this fraction of the peak rate
    clip_norm: float | None = 3.0
    eval_every: int = 200
    eval_batches: int = 20
    checkpoint_every: int = 200
    sample_every: int = 0  # 0: no samples during training
    log_every: int = 20
    keep_checkpoints: int = 3
    nan_retries: int = 3
    nan_lr_factor: float = 0.5
    mixed_precision: Literal["none", "mixed_float16", "mixed_bfloat16"] = "none"
    jit_compile: bool = False  # XLA for the forward and backward pass (fixed batch shapes)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "eval_batches", "checkpoint_every", "log_every",
                     "learning_rate"):
            check_range(f"train.{name}", getattr(self, name), low=0, open_low=True)
        check_range("train.warmup_steps", self.warmup_steps, low=0)
        check_range("train.final_lr", self.final_lr, low=0, high=1)
        if self.minutes is not None:
            check_range("train.minutes", self.minutes, low=0, high=MAX_MINUTES, open_low=True)


def load(path: str | os.PathLike, cls: type[T], *, sets: Sequence[str] = (), **overrides: Any) -> T:
    """Load a YAML file into the frozen dataclass ``cls``.

    Args:
      path: the YAML file.
      cls: the config dataclass to build.
      sets: ``KEY=VALUE`` overrides with dotted keys (``train.steps=300``, ``layers=[512,512]``),
        values read as YAML and checked like the file's own.
      **overrides: top-level values that replace the file's (e.g. ``seed``).
    Returns:
      A validated instance of ``cls``.
    Raises:
      ConfigError naming the file and key for a missing file, bad YAML, unknown key or wrong type.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (a config is YAML)") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    raw.update(overrides)
    expected = getattr(cls, "model", None)  # a family's config names its model
    if isinstance(expected, str) and raw.get("model", expected) != expected:
        raise ConfigError(f"{path}: model is '{raw['model']}', but this trains '{expected}' "
                          f"(its presets are in configs/{expected.replace('-', '_')}/)")
    merged = merge_sets(raw, sets)  # its own errors name the --set
    try:
        return from_dict(cls, merged)
    except ConfigError as exc:
        raise ConfigError(_blame(cls, raw, sets, path, exc)) from None


def _blame(cls: type, raw: dict, sets: Sequence[str], path: Path, error: ConfigError) -> str:
    """The load error, prefixed by what caused it: the last ``--set`` after which the config stays invalid
    (named with that set's own complaint), else the file."""
    for count in range(len(sets) - 1, -1, -1):   # the longest prefix of the sets that still loads
        try:
            from_dict(cls, merge_sets(raw, sets[:count]))
        except ConfigError:
            continue
        try:
            from_dict(cls, merge_sets(raw, sets[:count + 1]))
        except ConfigError as exc:
            return f"--set '{sets[count]}': {exc}"
    return f"{path}: {error}"


def merge_sets(raw: dict, sets: Sequence[str]) -> dict:
    """``raw`` with each ``KEY=VALUE`` of ``sets`` applied (dotted keys reach nested mappings)."""
    merged = copy.deepcopy(raw)
    for item in sets:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set '{item}' must look like KEY=VALUE (e.g. train.steps=300)")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        *parents, leaf = key.strip().split(".")
        node = merged
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set '{item}': '{part}' is not a group of keys")
            node = child
        node[leaf] = value
    return merged


def from_dict(cls: type[T], raw: dict, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a plain dict, checking keys and types recursively."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        allowed = ", ".join(sorted(fields))
        raise ConfigError(f"unknown key '{prefix}{unknown[0]}' (allowed: {allowed})")
    hints = typing.get_type_hints(cls)
    values = {name: _coerce(hints[name], value, f"{prefix}{name}") for name, value in raw.items()}
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc}" if prefix and not str(exc).startswith(prefix) else str(exc)) from None


def _coerce(tp: Any, value: Any, key: str) -> Any:
    """Check ``value`` against type ``tp`` (ints pass as floats, lists become tuples)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"'{key}' must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"'{key}' must be a mapping, got {value!r}")
        return from_dict(tp, value, prefix=f"{key}.")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{key}' must be a list, got {value!r}")
        item_tp = args[0] if args else Any
        return tuple(_coerce(item_tp, v, f"{key}[{i}]") for i, v in enumerate(value))
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        try:  # YAML 1.1 reads 1e-3 (no dot) as a string; users write learning rates that way
            return float(value)
        except ValueError:
            pass
    if tp in (int, float) and isinstance(value, bool) or not isinstance(value, tp):
        raise ConfigError(f"'{key}' must be {tp.__name__}, got {value!r}")
    return value


def to_dict(config: Any) -> dict:
    """The plain-dict form of a config (tuples as lists), as written to YAML."""
    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return plain(dataclasses.asdict(config))


def dump(config: Any, path: str | os.PathLike, *, header: str = "") -> None:
    """Write ``config`` as YAML atomically (temp file, then rename), after ``header`` comment lines."""
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    write_text_atomic(Path(path), comments + yaml.safe_dump(to_dict(config), sort_keys=False))
