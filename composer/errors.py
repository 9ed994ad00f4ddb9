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
