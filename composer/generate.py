"""One entry point for generation: find a run's model family and call its ``generate``.

A run dir is self-describing (``config.yaml`` names the model), so callers need not know
which family trained it. Options a family does not take are a clear error, not ignored.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from composer.errors import RunDirError
from composer.train.family import get_family
from composer.train.run import model_name


def generate(run_dir: str | Path, *, out: str | Path, **options: Any) -> list[Path]:
    """Generate with whatever family trained ``run_dir``; returns the files written."""
    run_dir = Path(run_dir)
    model = model_name(run_dir)
    family = get_family(model)
    accepted = inspect.signature(family.generate).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [name for name in options if name not in accepted and not takes_any]
    if unknown:
        flag = "--" + unknown[0].replace("_", "-")
        raise RunDirError(f"{flag} does not apply to {model} runs ({run_dir})")
    return list(family.generate(run_dir, out=Path(out), **options))
