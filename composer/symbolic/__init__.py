"""Symbolic branch: Magenta's performance encoding, sampling and MIDI export shared by the families
``performance_rnn/`` and ``music_transformer/``.

``composer.symbolic.generate(run_dir, out=...)`` samples new MIDI from a trained run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def generate(run_dir: str | Path, *, out: str | Path, **options: Any) -> list[Path]:
    """Sample MIDI from a Performance RNN or Music Transformer run; see ``composer.symbolic.sampling.generate``."""
    from composer.symbolic.sampling import generate as _generate

    return _generate(run_dir, out=out, **options)
