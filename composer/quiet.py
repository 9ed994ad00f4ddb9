"""Mute C++ libraries' start-up chatter, which is written straight to file descriptor 2.

TensorFlow probes for CUDA on import and LiteRT announces its XNNPACK delegate; neither goes
through Python's logging or warnings, so only pointing the descriptor elsewhere silences them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import warnings
from collections.abc import Iterator


def ignore_ffmpeg_warning() -> None:
    """note_seq imports pydub, which warns that ffmpeg is missing; nothing here needs ffmpeg."""
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)


@contextlib.contextmanager
def muted_stderr() -> Iterator[None]:
    """File descriptor 2 points at /dev/null inside the block (Python exceptions still propagate).

    C stdio buffers are flushed before the descriptor is restored, or buffered chatter would
    still appear when the process exits.
    """
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)
