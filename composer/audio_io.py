"""Reading and writing audio files: the one place every stage goes through.

Audio inside composer is float32 in [-1, 1]; mono is shape [n_samples], multichannel
[n_samples, n_channels]. Writes are atomic so an interrupted run never leaves half a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from composer.atomic import atomic_file
from composer.errors import ComposerError

READ_BLOCK_FRAMES = 1 << 16  # 16-bit files are read in blocks this long (256 kB in stereo)
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")
WRITE_FORMATS = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "aiff": "AIFF", "aif": "AIFF"}  # mp3 is read only
OGG_TAIL_BYTES = 1 << 16  # an Ogg page is at most 65,307 bytes
TRUNCATION_TOLERANCE = 0.01  # share of the declared length a decoder may fall short (mp3 frame estimates)


def read_audio(path: str | os.PathLike, *, sample_rate: int | None = None, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read an audio file as float32, optionally downmixed and resampled.

    Args:
      path: any format libsndfile reads (wav, flac, ogg, aiff, mp3), any bit depth.
      sample_rate: resample to this rate (Hz, soxr high quality); None keeps the file's rate.
      mono: average the channels. Shape [n_samples] if mono else [n_samples, n_channels].
    Returns:
      (audio, sample_rate_hz).
    Raises:
      ComposerError naming the file when it cannot be decoded or holds non-finite samples.
    """
    path = Path(path)
    try:
        audio, file_rate, subtype, declared = _read_float32(path)
    except Exception as exc:  # libsndfile raises several unrelated types
        raise _unreadable(path, exc) from None
    _check_length(path, audio.shape[0], declared, file_rate)
    if subtype != "PCM_16" and not np.all(np.isfinite(audio)):  # integers always are
        raise ComposerError(f"{path}: audio holds NaN or infinite samples")
    if mono:
        audio = audio.mean(axis=1)
    if sample_rate is not None and sample_rate != file_rate:
        audio = soxr.resample(audio, file_rate, sample_rate, quality="HQ").astype(np.float32)
        file_rate = sample_rate
    return np.ascontiguousarray(audio, dtype=np.float32), int(file_rate)


def stream_audio(path: str | os.PathLike, *, sample_rate: int, block_s: float = 10.0) -> Iterator[np.ndarray]:
    """Read an audio file as mono float32 blocks at ``sample_rate``, so that a recording of hours never
    sits in memory whole (``read_audio`` returns it in one array).

    Args:
      path: any format libsndfile reads, as for ``read_audio``.
      sample_rate: resample to this rate (Hz, soxr high quality, streamed).
      block_s: seconds of the file read per block; the blocks yielded are about this long.
    Yields:
      float32 [n_samples] blocks; concatenated they equal ``read_audio(path, sample_rate=...)``
      up to the resampler's block edges.
    Raises:
      ComposerError naming the file, as ``read_audio`` does (checked block by block, and the
      length at the end).
    """
    path = Path(path)
    try:
        file = sf.SoundFile(str(path))
    except Exception as exc:  # libsndfile raises several unrelated types
        raise _unreadable(path, exc) from None
    with file:
        file_rate, declared, n_read = file.samplerate, file.frames, 0
        resampler = soxr.ResampleStream(file_rate, sample_rate, 1, dtype="float32", quality="HQ")
        block_frames = max(1, int(block_s * file_rate))
        while True:
            try:
                block = file.read(block_frames, dtype="float32", always_2d=True)
            except Exception as exc:  # a decoder error midway: the same one line as on open
                raise _unreadable(path, exc) from None
            if len(block) and not np.all(np.isfinite(block)):
                raise ComposerError(f"{path}: audio holds NaN or infinite samples")
            n_read += len(block)
            last = len(block) < block_frames
            if last:
                _check_length(path, n_read, declared, file_rate)
            mono = block.mean(axis=1, dtype=np.float32)
            out = mono if file_rate == sample_rate else resampler.resample_chunk(mono, last=last)
            if len(out):
                yield out
            if last:
                return


def _unreadable(path: Path, exc: Exception) -> ComposerError:
    """The one-line error for a file libsndfile cannot open or decode."""
    reason = _first_line(exc)
    if "is not a regular file" in reason and path.is_file():  # libsndfile's words for "format not known"
        reason = f"not a {path.suffix.lstrip('.') or 'known'} audio file, or a corrupt one"
    return ComposerError(f"{path}: cannot read audio ({reason})")


def _check_length(path: Path, n_decoded: int, declared: int, file_rate: int) -> None:
    """ComposerError for a file without samples, or one that decodes to less than its header declares."""
    if n_decoded == 0:
        raise ComposerError(f"{path}: audio file holds no samples")
    if path.suffix.lower() == ".ogg" and not _ogg_ends_cleanly(path):  # an ogg declares no length: its last
        declared = n_decoded + file_rate  # page carries an end-of-stream flag, which a cut file lacks
    if declared - n_decoded > max(TRUNCATION_TOLERANCE * declared, 0.5 * file_rate):
        length = "an unknown length" if path.suffix.lower() == ".ogg" else f"{declared / file_rate:.1f} s"
        raise ComposerError(f"{path}: truncated or corrupt: decoded {n_decoded / file_rate:.1f} s of "
                            f"{length} (the file ends early)")


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, *, subtype: str | None = None,
                sync: bool = True) -> Path:
    """Write ``audio`` ([n_samples] or [n_samples, n_channels], float, or int16 already on the
    16-bit grid) atomically: a temporary file renamed over ``path``, never half a file there.

    The format follows the extension (.wav, .flac, ...); ``subtype`` is libsndfile's
    ("PCM_16", "PCM_24", "FLOAT"); None takes the format's default (16-bit PCM for wav/flac).
    ``sync`` waits until the file is on disk (fsync); False leaves writeback to the kernel, for
    derived files a rerun remakes (a machine crash, not a process crash, may lose them).
    """
    path = Path(path)
    file_format = check_audio_path(path)
    subtype = subtype or sf.default_subtype(file_format)
    audio = np.asarray(audio)
    if audio.dtype != np.int16:
        audio = audio.astype(np.float32, copy=False)
        if not np.all(np.isfinite(audio)):
            raise ComposerError(f"{path}: refusing to write audio with NaN or infinite samples")
        if subtype == "PCM_16":
            audio = _to_pcm16(audio)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    with atomic_file(path, sync=sync) as handle:  # its descriptor: a file reopened with O_TRUNC is
        with _UnsyncedSoundFile(handle.fileno(), "w", sample_rate, channels, subtype, format=file_format,
                                closefd=False) as file:  # flushed on close by ext4 (auto_da_alloc)
            file.write(audio)
        if not sync:  # and so is a file renamed over another: an unsynced write removes the old one
            path.unlink(missing_ok=True)
    return path


class _UnsyncedSoundFile(sf.SoundFile):
    """soundfile fsyncs every file it closes (its flush); here the fsync, if any, is atomic_file's."""

    def flush(self) -> None:
        pass


def _read_float32(path: Path) -> tuple[np.ndarray, int, str, int]:
    """The file as float32 [n_samples, n_channels], its rate, subtype and the frame count its
    header declares (more than were decoded when the file is cut short). 16-bit PCM, the common
    case, is read in blocks of integers scaled into the float array: libsndfile's values
    (x / 32768) in a third of its time, without a full-length integer copy."""
    with sf.SoundFile(str(path)) as file:
        if file.subtype != "PCM_16":
            return file.read(dtype="float32", always_2d=True), file.samplerate, file.subtype, file.frames
        audio = np.empty((file.frames, file.channels), dtype=np.float32)
        block = np.empty((min(file.frames, READ_BLOCK_FRAMES), file.channels), dtype=np.int16)
        n_read = 0
        while n_read < len(audio) and len(got := file.read(out=block[:len(audio) - n_read])):
            np.multiply(got, np.float32(1.0 / 32768.0), out=audio[n_read:n_read + len(got)])
            n_read += len(got)
        return audio[:n_read], file.samplerate, file.subtype, file.frames


def _ogg_ends_cleanly(path: Path) -> bool:
    """Whether the last Ogg page in the file is whole and flagged end-of-stream (header byte 5, bit 2)."""
    size = path.stat().st_size
    with open(path, "rb") as file:
        file.seek(max(0, size - OGG_TAIL_BYTES))
        tail = file.read()
    start = tail.rfind(b"OggS")
    if start < 0 or len(tail) - start < 27:
        return False
    n_segments = tail[start + 26]
    body = sum(tail[start + 27:start + 27 + n_segments])
    return bool(tail[start + 5] & 0x04) and start + 27 + n_segments + body == len(tail)


def _to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float to 16-bit integers: x 32767, rounded, clipped; the grid loudness.quantize_16bit uses,
    so audio on it is stored exactly (libsndfile 1.2 floors x 32768, moving every negative
    value of that grid down a step), in a third of libsndfile's time."""
    scaled = audio * np.float32(32767.0)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    return scaled.astype(np.int16)


def check_audio_path(path: Path) -> str:
    """libsndfile's format for writing ``path``, by its extension; ComposerError if it writes none."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in WRITE_FORMATS:
        raise ComposerError(f"{path}: cannot write '.{suffix}' audio (use one of .wav, .flac, .ogg, .aiff)")
    return WRITE_FORMATS[suffix]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
