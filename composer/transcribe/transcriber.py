"""One recording to a NoteSequence: audio streamed through Basic Pitch's network and its note
post-processing, in bounded memory (``chunks``), with one-line reasons when there is nothing to
transcribe.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from composer.audio_io import stream_audio
from composer.errors import ComposerError, TranscriptionError
from composer.transcribe.chunks import Event, Segmenter, batches, windows
from composer.transcribe.model import BATCH_WINDOWS, NoteModel
from composer.transcribe.notes import NoteOptions, decoder, to_sequence

SEGMENT_S = 60.0  # notes are decoded per minute of frames...
MARGIN_S = 10.0  # ...with this much context each side (a note held longer is cut at a segment's end)
MIN_DURATION_S = 0.5  # a note needs 128 ms and context around its onset
SILENT_PEAK = 1e-3  # -60 dBFS: a recording that never gets louder is silence
NOISE_FLATNESS = 0.3  # the median window's spectral flatness above which a recording is noise (white: 0.56)
N_PITCHES = 88

if TYPE_CHECKING:
    from note_seq.protobuf.music_pb2 import NoteSequence


@functools.cache
def shared_model(threads: int | None = None) -> NoteModel:
    """One network per process and thread count: loading it takes a moment and its weights are fixed.
    Not thread-safe: one transcription at a time per process (the studio runs its jobs one by one)."""
    return NoteModel(threads=threads)


def transcribe_file(path: str | os.PathLike, *, options: NoteOptions = NoteOptions(), model: NoteModel | None = None,
                    on_progress: Callable[[float], None] | None = None) -> NoteSequence:
    """Transcribe an audio file (any format ``composer.audio_io`` reads) into a NoteSequence.

    Args:
      path: the recording; read in blocks, so its length is bounded by time, not memory.
      options: decoding thresholds.
      model: a loaded network (default: this process's shared one, on all cores).
      on_progress: called with the seconds of audio done after each batch of windows.
    Returns:
      NoteSequence of one piano track whose total_time is the recording's length.
    Raises:
      ComposerError (one line naming ``path``): unreadable audio, or a TranscriptionError when it is
      too short, silent, noise, or holds no note Basic Pitch finds.
    """
    if not Path(path).is_file():
        raise ComposerError(f"{path}: no such file")
    model = model or shared_model()
    blocks = stream_audio(path, sample_rate=model.geometry.sample_rate)
    return transcribe_blocks(blocks, name=str(path), options=options, model=model, on_progress=on_progress)


def recording_seconds(path: str | os.PathLike) -> float:
    """The length a recording's header declares (0 when it has none, or cannot be read: the
    transcription then says what is wrong)."""
    import soundfile as sf

    try:
        return float(sf.info(str(path)).duration)
    except Exception:  # libsndfile raises several unrelated types; transcribe_file reports the problem
        return 0.0


def transcribe_audio(audio: np.ndarray, sample_rate: int, *, name: str = "audio",
                     options: NoteOptions = NoteOptions(), model: NoteModel | None = None) -> NoteSequence:
    """``transcribe_file`` for audio in memory: float32 [n_samples] (mono) or [n_samples, channels]."""
    import soxr

    model = model or shared_model()
    mono = np.asarray(audio, np.float32)
    mono = mono.mean(axis=1) if mono.ndim == 2 else mono
    if sample_rate != model.geometry.sample_rate:
        mono = soxr.resample(mono, sample_rate, model.geometry.sample_rate, quality="HQ").astype(np.float32)
    return transcribe_blocks([mono], name=name, options=options, model=model)


def transcribe_blocks(blocks: Iterable[np.ndarray], *, name: str, options: NoteOptions, model: NoteModel,
                      on_progress: Callable[[float], None] | None = None) -> NoteSequence:
    """The recording as mono blocks at the network's rate (``model.geometry.sample_rate``) to a NoteSequence."""
    geometry = model.geometry
    fps = geometry.frames_per_second
    heard = _Listener()
    segmenter = Segmenter(decoder(options, frames_per_second=fps), core=round(SEGMENT_S * fps),
                          margin=round(MARGIN_S * fps))
    events: list[Event] = []
    cut = windows(heard.count(blocks), samples=geometry.samples, hop=geometry.hop, lead=geometry.lead)
    for n_done, batch in enumerate(batches(cut, BATCH_WINDOWS), start=1):
        heard.measure(batch)
        note, onset = model(batch)  # [batch, frames, 88] each
        events += segmenter.push(note.reshape(-1, N_PITCHES), onset.reshape(-1, N_PITCHES))
        if on_progress is not None:
            on_progress(min(n_done * BATCH_WINDOWS * geometry.hop, heard.n_samples) / geometry.sample_rate)
    duration_s = heard.n_samples / geometry.sample_rate
    heard.check(name, duration_s)
    n_frames = int(np.floor(heard.n_samples * fps / geometry.sample_rate))
    events += segmenter.finish(n_frames)
    sequence = to_sequence(events, n_frames=n_frames, duration_s=duration_s)
    if not sequence.notes:
        raise TranscriptionError(f"{name}: no notes found in {duration_s:.1f} s (Basic Pitch heard nothing "
                                 f"pitched above its thresholds)")
    return sequence


class _Listener:
    """What the transcriber learns of a recording on the way through: its length, its peak and how
    noise-like each window sounds, for the one-line reasons when there is nothing to transcribe."""

    def __init__(self) -> None:
        self.n_samples, self.peak, self.flatness = 0, 0.0, []

    def count(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for block in blocks:
            self.n_samples += len(block)
            self.peak = max(self.peak, float(np.max(np.abs(block), initial=0.0)))
            yield block

    def measure(self, batch: np.ndarray) -> None:
        """Spectral flatness (geometric over arithmetic mean of the power spectrum) of each window that
        is not near silence: about 0.56 for white noise, far below for notes."""
        audible = batch[np.sqrt(np.mean(np.square(batch), axis=1)) > SILENT_PEAK]
        if len(audible):
            power = np.abs(np.fft.rfft(audible * np.hanning(batch.shape[1]), axis=1)) ** 2 + 1e-12
            self.flatness += list(np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1))

    def check(self, name: str, duration_s: float) -> None:
        """TranscriptionError when the recording is too short, silent or noise."""
        if duration_s < MIN_DURATION_S:
            raise TranscriptionError(f"{name}: too short to transcribe ({duration_s:.2f} s; at least "
                                     f"{MIN_DURATION_S} s)")
        if self.peak < SILENT_PEAK:
            level = 20 * np.log10(self.peak) if self.peak > 0 else -np.inf
            raise TranscriptionError(f"{name}: silent (peak {level:.0f} dBFS): no notes to transcribe")
        flatness = float(np.median(self.flatness)) if self.flatness else 0.0
        if flatness > NOISE_FLATNESS:
            raise TranscriptionError(f"{name}: sounds like noise, not pitched music (spectral flatness "
                                     f"{flatness:.2f}; music is below {NOISE_FLATNESS}): no notes to transcribe")
