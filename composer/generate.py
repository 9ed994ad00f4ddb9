"""One entry point for generation: find a run's model family and call its ``generate``.

A run dir is self-describing (``config.yaml`` names the model), so callers need not know
which family trained it. What each family's ``generate`` takes is declared in the ``options.py``
of its folder (``composer.options``): an option the family does not declare is a clear error,
not ignored, and an option given as text (a list such as '2,4,8') is parsed as the family says.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from composer.atomic import check_writable
from composer.errors import ConfigError, RunDirError, check_range
from composer.options import MAX_AUDIO_SECONDS, MAX_SECONDS, GenerateOption, check_values
from composer.train.family import FAMILIES, get_family
from composer.train.run import model_name


def generate(run_dir: str | Path, *, out: str | Path, **options: Any) -> list[Path]:
    """Generate with whatever family trained ``run_dir``; returns the files written."""
    run_dir, out = Path(run_dir), Path(out)
    model = model_name(run_dir)
    family = get_family(model)
    audio = family.output == "audio"
    check_output(out, seconds=options.get("seconds"), audio=audio)
    if audio:
        from composer.audio_io import check_audio_path  # numpy and libsndfile: not at CLI start-up

        check_audio_path(out)  # before generating, not when writing
    declared = {option.name: option for option in options_of(model)}
    unknown = [name for name in options if name not in declared]
    if unknown:
        flag = "--" + unknown[0].replace("_", "-")
        raise RunDirError(f"{flag} does not apply to {model} runs ({run_dir})")
    given = {name: declared[name].value(value) for name, value in options.items()}
    check_values(tuple(declared.values()), given)
    return list(family.generate(run_dir, out=out, **given))


def options_of(model: str) -> tuple[GenerateOption, ...]:
    """What the ``generate`` of the family registered as ``model`` takes: the ``GENERATE_OPTIONS``
    of the ``options.py`` beside its family module (no TensorFlow, so help and checks stay fast)."""
    if model not in FAMILIES:
        get_family(model)  # the registry's error, which lists the valid names
    package = FAMILIES[model].split(":")[0].rsplit(".", 1)[0]
    return importlib.import_module(f"{package}.options").GENERATE_OPTIONS


def declared_options() -> dict[str, tuple[GenerateOption, ...]]:
    """Every registered family's ``generate`` options, by family name in registry order."""
    return {model: options_of(model) for model in FAMILIES}


def check_output(out: Path, *, seconds: float | None, audio: bool = False) -> None:
    """Refuse, before any work, an ``out`` that is a folder and lengths no machine can hold."""
    if out.is_dir():
        raise ConfigError(f"{out}: is a folder; --out takes a file name, e.g. {out / 'piece.mid'}")
    check_writable(out)
    if seconds is not None:
        check_seconds(seconds, audio=audio)


def check_seconds(seconds: float, *, audio: bool, name: str = "--seconds") -> None:
    """The one range of a generated file's length, read by the CLI and the studio alike (``name``: how the
    caller's user wrote the value)."""
    check_range(name, seconds, low=0, high=int(MAX_AUDIO_SECONDS if audio else MAX_SECONDS), open_low=True,
                note="for this model (join longer pieces with composer mix)")


def primer_end_s(midi: str | Path) -> float:
    """Where the new material of a MIDI file ``generate`` wrote begins: the time of its "end of
    primer" marker (0 without a primer), so a caller can cut or join at it."""
    import pretty_midi

    from composer.symbolic.midi import PRIMER_MARKER

    markers = [event.time for event in pretty_midi.PrettyMIDI(str(midi)).text_events if event.text == PRIMER_MARKER]
    return float(markers[0]) if markers else 0.0
