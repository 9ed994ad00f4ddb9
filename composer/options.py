"""What ``generate`` takes from a user, as each model family declares it.

A family lists its ``GenerateOption``s in the ``options.py`` of its folder (no TensorFlow there,
so ``composer --help`` stays fast). ``composer generate`` builds its flags and their help from
those lists (each option labelled with the families that take it), ``composer.generate`` refuses
an option the run's family does not declare, and the studio offers a run the fields its family
takes: a new family adds options without touching the CLI.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from composer.errors import ComposerError, bounds_text, check_range
from composer.seeding import SEED_LIMIT

MAX_SECONDS = 3600.0  # per file: every family keeps a whole piece in memory until it is written
# The audio families hold several copies of every sample (LSTM+VAE frames overlap), and SampleRNN
# draws one sample at a time: ten minutes is already long to wait for.
MAX_AUDIO_SECONDS = 600.0
MAX_NUM = 64  # files per call: they are generated as one batch
MAX_TEMPERATURE = 5.0  # far past where every family's samples turn to noise
MAX_SEED = SEED_LIMIT - 1


@dataclasses.dataclass(frozen=True)
class GenerateOption:
    """One keyword of a family's ``generate`` as a user gives it (flag ``--top-p`` for ``top_p``).

    ``kind`` is the type of the value on the command line (``bool``: a flag); ``parse`` turns that
    text into the value ``generate`` takes when they differ (lists such as '2,4,8'). ``default`` is
    the family's own (None: decided from the run, e.g. its preset; the help says how). ``low`` and
    ``high`` bound the value (each element of a list), inclusive unless ``open_low``: these bounds are
    the one range of the value, checked alike for the CLI, the studio and Python callers.
    """

    name: str
    kind: type
    help: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    parse: Callable[[str], Any] | None = None
    open_low: bool = False

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def value(self, given: Any) -> Any:
        """The value ``generate`` takes for what the user gave (text parsed where it is a list)."""
        return self.parse(given) if self.parse and isinstance(given, str) else given

    @property
    def bounded(self) -> bool:
        return self.low is not None or self.high is not None

    @property
    def bounds(self) -> str:
        """The range as the help and the error messages write it, e.g. 'within (0, 1]'."""
        return bounds_text(self.low, self.high, self.open_low, False)

    def check(self, value: Any, *, name: str | None = None) -> None:
        """Refuse a value (or any element of a list) out of bounds: "--top-p must be within (0, 1], got 0.0".
        ``name`` is how the caller's user wrote it (the studio's field name); the flag by default."""
        if not self.bounded or value is None or isinstance(value, bool):
            return
        for element in value if isinstance(value, (list, tuple)) else [value]:
            check_range(name or self.flag, element, low=self.low, high=self.high, open_low=self.open_low)


def check_values(options: Sequence[GenerateOption], given: Mapping[str, Any], *, fields: bool = False) -> None:
    """Check each value of ``given`` (option name -> value, parsed) that ``options`` bound; ``fields``
    names them as the studio's form does (``top_p``), else as flags (``--top-p``)."""
    for option in options:
        if option.name in given:
            option.check(given[option.name], name=option.name if fields else None)


def common_options(*, seconds: float, primer: str) -> tuple[GenerateOption, ...]:
    """The options every family takes: length, temperature, primer, seed and number of files.

    ``seconds`` is the family's default length; ``primer`` says what kind of file it continues.
    """
    return (
        GenerateOption("seconds", float, f"Length of new material (s) per file, up to {MAX_SECONDS:.0f} "
                       f"({MAX_AUDIO_SECONDS:.0f} for audio models).", default=seconds),
        GenerateOption("temperature", float, "Sampling temperature (default: the run's preset, else 1).", low=0.0,
                       high=MAX_TEMPERATURE),
        GenerateOption("primer", Path, primer),
        GenerateOption("seed", int, "Make the output reproducible.", low=0, high=MAX_SEED),
        GenerateOption("num", int, "Generate N files in one batched pass: OUT-1 ... OUT-N (one file: OUT).",
                       default=1, low=1, high=MAX_NUM),
    )


def numbers(text: str, *, flag: str) -> list[float]:
    """'4' or '2,4,8' as floats (a list spreads over the piece)."""
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ComposerError(f"{flag} must be numbers separated by commas, got '{text}'") from None


def histograms(text: str) -> list[list[float]]:
    """'12 numbers' or several groups of 12 separated by ';'."""
    groups = [numbers(group.replace(" ", ","), flag="--pitch-histogram") for group in text.split(";")]
    if any(len(group) != 12 for group in groups):
        raise ComposerError(f"--pitch-histogram needs 12 numbers per group (groups separated by ';'), got '{text}'")
    return groups


@dataclasses.dataclass(frozen=True)
class SharedOption:
    """One option as a command line shows it for all families: the first declaration (kind,
    bounds, parsing), each family's help labelled with the families it is theirs, and their defaults."""

    option: GenerateOption
    help: str
    defaults: str | None  # e.g. "30; samplernn 10": the commonest default, then the others by family


def shared_options(declared: Mapping[str, Sequence[GenerateOption]]) -> list[SharedOption]:
    """Every option of ``declared`` (family name -> its options) once, in order of first declaration.

    Families that take an option under one name must agree on its kind and bounds (a ValueError
    names the two that do not): one flag cannot parse two ways.
    """
    takers: dict[str, list[tuple[str, GenerateOption]]] = {}
    for family, options in declared.items():
        for option in options:
            takers.setdefault(option.name, []).append((family, option))
    shared = []
    for pairs in takers.values():
        (first_family, first), everyone = pairs[0], len(pairs) == len(declared)
        for family, option in pairs[1:]:
            if (option.kind, option.low, option.high, option.open_low) != (first.kind, first.low, first.high,
                                                                            first.open_low):
                raise ValueError(f"{family} and {first_family} declare {option.flag} with another kind or range")
        shared.append(SharedOption(first, _labelled_help(pairs, everyone=everyone), _defaults(pairs)))
    return shared


def _labelled_help(pairs: list[tuple[str, GenerateOption]], *, everyone: bool) -> str:
    """The help, prefixed by the families it is theirs unless every family says the same."""
    texts: dict[str, list[str]] = {}
    for family, option in pairs:
        texts.setdefault(option.help, []).append(family)
    if everyone and len(texts) == 1:
        return next(iter(texts))
    return " ".join(f"{', '.join(families)}: {text}" for text, families in texts.items())


def _defaults(pairs: list[tuple[str, GenerateOption]]) -> str | None:
    """The families' defaults: the commonest bare when every family has one, the others by family."""
    values: dict[Any, list[str]] = {}
    for family, option in pairs:
        if option.default is not None and option.default is not False:
            values.setdefault(option.default, []).append(family)
    if not values:
        return None
    everyone_has_one = sum(map(len, values.values())) == len(pairs)  # else some decide at run time (see help)
    bare = max(values, key=lambda value: len(values[value])) if everyone_has_one else None
    parts = [] if bare is None else [_text(bare)]
    parts += [f"{', '.join(families)} {_text(value)}" for value, families in values.items() if value != bare]
    return "; ".join(parts)


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
