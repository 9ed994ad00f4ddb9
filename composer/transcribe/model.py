"""Basic Pitch's network (ICASSP 2022) as its TFLite file, run by LiteRT on the CPU.

The network reads windows of ``WINDOW.samples`` samples of mono 22,050 Hz audio (about 2 s) and
gives, per window, 172 frames (256 samples each) of note and onset posteriors for the 88 piano
keys (and pitch contours, which we do not use: our events carry no pitch bends). As Basic Pitch
does, windows overlap by 30 frames and each keeps its middle frames only, where the network saw
context on both sides.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np

from composer.quiet import muted_stderr
from composer.transcribe import upstream

BATCH_WINDOWS = 8  # windows per interpreter call (XNNPACK is faster per window on a batch)
OVERLAP_FRAMES = 30  # Basic Pitch's own: half of it is dropped at each edge of a window


@dataclass(frozen=True)
class WindowGeometry:
    """How audio is cut into the network's windows, in samples, and how many frames each keeps."""

    samples: int  # one window
    hop: int  # between window starts
    lead: int  # zeros before the audio, so the first kept frame is the audio's first
    trim_frames: int  # frames dropped at each edge of a window's output
    sample_rate: int
    frames_per_second: float  # of the kept output, as Basic Pitch counts them


@functools.cache
def geometry() -> WindowGeometry:
    """Basic Pitch's windowing (``basic_pitch.inference.run_inference``) from its constants."""
    constants = upstream.submodule("constants")
    overlap = OVERLAP_FRAMES * constants.FFT_HOP
    return WindowGeometry(samples=constants.AUDIO_N_SAMPLES, hop=constants.AUDIO_N_SAMPLES - overlap,
                          lead=overlap // 2, trim_frames=OVERLAP_FRAMES // 2,
                          sample_rate=constants.AUDIO_SAMPLE_RATE, frames_per_second=constants.ANNOTATIONS_FPS)


class NoteModel:
    """The network: ``model(windows [batch, samples]) -> (note, onset)``, each [batch, kept frames, 88]."""

    def __init__(self, *, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.geometry = geometry()
        with muted_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            interpreter = Interpreter(model_path=str(upstream.model_path()), num_threads=threads or os.cpu_count())
            self._run = interpreter.get_signature_runner()  # resizes itself to each batch
        self._interpreter, self._batch = interpreter, None

    def __call__(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posteriors in [0, 1] for ``windows`` [batch, samples] (float32 audio in [-1, 1])."""
        assert windows.ndim == 2 and windows.shape[1] == self.geometry.samples, windows.shape
        inputs = np.ascontiguousarray(windows[:, :, None], dtype=np.float32)  # [batch, samples, 1]
        if len(windows) == self._batch:
            out = self._run(input_2=inputs)
        else:
            with muted_stderr():  # XNNPACK announces itself again when the interpreter is resized
                out = self._run(input_2=inputs)
            self._batch = len(windows)
        keep = slice(self.geometry.trim_frames, -self.geometry.trim_frames)
        return out["note"][:, keep], out["onset"][:, keep]
