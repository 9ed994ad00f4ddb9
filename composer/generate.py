"""One entry point for generation: find a run's model family and call its ``generate``.

A run dir is self-describing (``config.yaml`` names the model), so callers need not know
which family trained it. Options a family does not take are a clear error, not ignored.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from composer.atomic import check_writable
from composer.errors import ConfigError, RunDirError, check_range
from composer.train.family import get_family
from composer.train.run import model_name

MAX_SECONDS = 3600.0  # per file: every family keeps a whole piece in memory until it is written
# The audio families hold several copies of every sample (LSTM+VAE frames overlap), and SampleRNN
# draws one sample at a time: ten minutes is already long to wait for.
MAX_AUDIO_SECONDS = 600.0
MAX_NUM = 64  # files per call: they are generated as one batch


def generate(run_dir: str | Path, *, out: str | Path, **options: Any) -> list[Path]:
    """Generate with whatever family trained ``run_dir``; returns the files written."""
    run_dir, out = Path(run_dir), Path(out)
    model = model_name(run_dir)
    family = get_family(model)
    audio = family.output == "audio"
    check_output(out, seconds=options.get("seconds"), num=options.get("num", 1), audio=audio)
    if audio:
        from composer.audio_io import check_audio_path  # numpy and libsndfile: not at CLI start-up

        check_audio_path(out)  # before generating, not when writing
    accepted = inspect.signature(family.generate).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [name for name in options if name not in accepted and not takes_any]
    if unknown:
        flag = "--" + unknown[0].replace("_", "-")
        raise RunDirError(f"{flag} does not apply to {model} runs ({run_dir})")
    return list(family.generate(run_dir, out=out, **options))


def check_output(out: Path, *, seconds: float | None, num: int, audio: bool = False) -> None:
    """Refuse, before any work, an ``out`` that is a folder and lengths no machine can hold."""
    if out.is_dir():
        raise ConfigError(f"{out}: is a folder; --out takes a file name, e.g. {out / 'piece.mid'}")
    check_writable(out)
    if seconds is not None:
        check_seconds(seconds, audio=audio)
    check_range("--num", num, low=1, high=MAX_NUM, note="(files generated together)")


def check_seconds(seconds: float, *, audio: bool, name: str = "--seconds") -> None:
    """The one range of a generated file's length, read by the CLI and the studio alike (``name``: how the
    caller's user wrote the value)."""
    check_range(name, seconds, low=0, high=int(MAX_AUDIO_SECONDS if audio else MAX_SECONDS), open_low=True,
                note="for this model (join longer pieces with composer mix)")
