"""Spotify's Basic Pitch package (pip ``basic-pitch``, installed with ``--no-deps``): its TFLite model
file and its own note post-processing, used as they are.

Its metadata pins ``tensorflow<2.15.1`` (we run 2.21), hence ``--no-deps``; and its ``__init__``
imports TensorFlow, coremltools, tflite-runtime and onnxruntime only to pick a default model format,
which would cost every transcribing process a TensorFlow import and four warnings. We pick the
TFLite file ourselves, so the package is registered without running that ``__init__``; its
submodules then import as usual (``note_creation`` needs numpy, scipy, librosa, mir_eval, resampy
and pretty_midi, none of them TensorFlow).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from composer.errors import ComposerError

PACKAGE = "basic_pitch"
VERSION = "0.4.0"  # the Makefile installs this one; its model is the ICASSP 2022 one
MODEL_FILE = Path("saved_models") / "icassp_2022" / "nmp.tflite"
INSTALL_HINT = f"run `make setup`, or `pip install --no-deps basic-pitch=={VERSION} mir_eval resampy`"


def _package_dir() -> Path:
    """The installed package's folder, registered in ``sys.modules`` without running its ``__init__``."""
    if PACKAGE not in sys.modules:
        spec = importlib.util.find_spec(PACKAGE)
        if spec is None or not spec.submodule_search_locations:
            raise ComposerError(f"Basic Pitch (the transcription model) is not installed: {INSTALL_HINT}")
        sys.modules[PACKAGE] = importlib.util.module_from_spec(spec)  # a package object, __init__ not run
    return Path(next(iter(sys.modules[PACKAGE].__path__)))


def submodule(name: str) -> ModuleType:
    """``basic_pitch.<name>`` (e.g. ``constants``, ``note_creation``)."""
    _package_dir()
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    except ImportError as exc:  # one of its own dependencies is missing
        raise ComposerError(f"Basic Pitch cannot load {PACKAGE}.{name} ({exc}): {INSTALL_HINT}") from None


def model_path() -> Path:
    """The TFLite model file inside the installed package (nothing is downloaded)."""
    path = _package_dir() / MODEL_FILE
    if not path.is_file():
        raise ComposerError(f"{path}: Basic Pitch's model file is missing: {INSTALL_HINT}")
    return path
