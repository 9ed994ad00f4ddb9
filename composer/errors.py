"""One exception family for every user-facing failure.

The CLI turns any ``ComposerError`` into a one-line message and exit code 1, so messages
must name the file or value at fault and say what is allowed.
"""


class ComposerError(Exception):
    """Base class: a problem with the user's input, files or environment."""


class ConfigError(ComposerError):
    """A config file or option has an unknown key, a wrong type or an out-of-range value."""


class CorpusError(ComposerError):
    """A corpus is missing, malformed, or an item in it cannot be read."""


class RunDirError(ComposerError):
    """A run directory is missing, incomplete, or does not match what was asked of it."""


class RenderError(ComposerError):
    """Synthesis or mixing failed: missing soundfont or library, bad mix spec."""


class TrainingError(ComposerError):
    """Training could not continue (e.g. repeated non-finite loss)."""


class TranscriptionError(ComposerError):
    """A recording gives no notes to transcribe: silent, noise, too short, or nothing pitched found."""


def check_range(name: str, value: float, *, low: float | None = None, high: float | None = None,
                open_low: bool = False, open_high: bool = False, note: str = "",
                error: type[ComposerError] = ConfigError) -> None:
    """The one shape of an argument check: ``error`` "NAME must be BOUNDS[ NOTE], got VALUE" unless in bounds.

    NaN is never in bounds, and is named as not a number. ``open_low`` / ``open_high`` leave the bound
    itself out.
    """
    above = low is None or (value > low if open_low else value >= low)
    below = high is None or (value < high if open_high else value <= high)
    if not (above and below and value == value):
        got = f"{value!r}" if value == value else "nan (not a number)"
        bounds = bounds_text(low, high, open_low, open_high) + (f" {note}" if note else "")
        raise error(f"{name} must be {bounds}, got {got}")


def bounds_text(low: float | None, high: float | None, open_low: bool, open_high: bool) -> str:
    """``within 1..64`` (closed integers), ``within (0, 3600]``, ``positive``, ``>= 2``, ``<= 1.0`` or ``a number``."""
    if low is None and high is None:
        return "a number"
    if low is not None and high is not None:
        if isinstance(low, int) and isinstance(high, int) and not (open_low or open_high):
            return f"within {low}..{high}"
        return f"within {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    if low is not None:
        return "positive" if low == 0 and open_low else f"{'>' if open_low else '>='} {low}"
    return f"{'<' if open_high else '<='} {high}"
