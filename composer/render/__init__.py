"""Render stage: MIDI to audio with fluidsynth, stems layered into one mix, and plots.

``from composer.render import render_midi, mix``.
"""

from composer.render.synth import render_midi

__all__ = ["render_midi", "mix"]


def __getattr__(name: str):
    """Import the mixer (and librosa with it) only when it is asked for."""
    if name == "mix":
        from composer.render.mixer import mix

        return mix
    raise AttributeError(name)
