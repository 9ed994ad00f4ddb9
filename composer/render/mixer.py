"""Layer stems (audio files or MIDI rendered on the fly) into one mix.

Each stem is loaded at the master rate as stereo, trimmed, stretched or shifted, looped, faded,
gained and panned, then placed on the time line. The sum is brought to ``target_lufs``
(BS.1770), peak-limited below ``ceiling_db`` and written at the master bit depth; each stem
(with the master gain, before the limiter) goes to ``stems/`` at that bit depth too, unless
``master.stems`` is false, and a report to ``mix.json``.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from composer.atomic import write_text_atomic
from composer.audio_io import read_audio, write_audio
from composer.errors import ComposerError, RenderError
from composer.render import loudness
from composer.render.mixspec import MasterSpec, MixSpec, StemSpec, load_spec
from composer.render.synth import render_midi

MIX_EXTENSIONS = (".wav", ".flac")
LUFS_TOLERANCE = 0.2  # LU: when the limiter lowered the loudness more than this, raise the gain again


@dataclass
class PlacedStem:
    """A processed stem on the time line: ``audio`` float32 [n, 2] starts at sample ``offset``."""

    spec: StemSpec
    offset: int
    audio: np.ndarray
    name: str


def mix(spec: dict | str | os.PathLike, *, out: str | os.PathLike, plot: bool | None = None,
        stems: bool | None = None) -> dict:
    """Render a mix spec to ``out`` (.wav or .flac), with ``stems/`` and ``mix.json`` beside it.

    Args:
      spec: a mix spec mapping or YAML path (see composer.render.mixspec).
      out: the mix file; its format follows the extension, bit depth the spec's master.
      plot: write ``<out>.png`` with every stem on a time line; None follows the spec.
      stems: write the stem files; None follows the spec's ``master.stems``.
    Returns:
      the mix.json content: sample_rate, length_s, lufs, peak_db (sample peak), master_gain_db,
      bit_depth, path, stems
      [{source, gain_db, pan, start_s, lufs, peak_db, path, subtype}] (levels None when silent).

    Stem files are derived: they take the master's bit depth (16-bit ones dithered like the
    master; a float stem would be 4x the bytes of the 16-bit mix it explains) and are not
    fsynced, as a rerun remakes them. ``master.stems: false`` skips them (path and subtype
    None; an existing stems/ folder is left as it is).
    """
    out = Path(out)
    if out.suffix.lower() not in MIX_EXTENSIONS:
        raise RenderError(f"{out}: mix output must be one of {', '.join(MIX_EXTENSIONS)}")
    parsed = load_spec(spec)
    master, rate = parsed.master, parsed.master.sample_rate
    if stems is not None:
        master = replace(master, stems=stems)
    with _pool() as pool:  # file I/O, filters, soxr and fluidsynth release the GIL
        placed, n_samples = _load_and_place(parsed, pool)
        levels = [pool.submit(_measure, stem, rate) for stem in placed]  # while the bus is mastered
        bus, gain_db, lufs = _master(_sum(placed, n_samples), master)
        gain = np.float32(loudness.db_to_gain(gain_db))
        writes = [pool.submit(_write_stem, stem, gain, n_samples, master, out.parent / "stems", seed=i + 1)
                  if master.stems else None for i, stem in enumerate(placed)]
        audio = loudness.quantize_16bit(bus, seed=0) if master.bit_depth == 16 else bus  # int16 stored as is
        write_audio(out, audio, rate, subtype=master.subtype)
        stems = [_describe(stem, level.result(), gain, write and write.result(), master)
                 for stem, level, write in zip(placed, levels, writes)]
    report = _report(audio, stems, gain_db, lufs, master, out)
    write_text_atomic(out.parent / "mix.json", json.dumps(report, indent=2) + "\n")
    if plot if plot is not None else master.plot:
        from composer.render.plots import plot_timeline

        plot_timeline([(p.name, p.offset, p.audio * gain) for p in placed], bus, rate, out=out.with_suffix(".png"))
    return report


def _load_and_place(parsed: MixSpec, pool: ThreadPoolExecutor) -> tuple[list[PlacedStem], int]:
    """Every stem loaded and placed on the time line, one stem per task; and the mix length."""
    stems, rate, indices = parsed.stems, parsed.master.sample_rate, range(len(parsed.stems))
    loaded = list(pool.map(lambda i: _load_stem(stems[i], parsed, i + 1, rate), indices))
    n_samples = _mix_length(list(zip(stems, loaded)), parsed.master)
    return list(pool.map(lambda i: _place(stems[i], loaded[i], i + 1, n_samples, rate), indices)), n_samples


def _load_stem(spec: StemSpec, parsed: MixSpec, index: int, sample_rate: int) -> np.ndarray:
    """The stem's source as float32 [n, 2] at ``sample_rate``, trimmed, stretched and shifted."""
    where = f"{parsed.name}: stem {index} ({spec.source.name})"
    try:
        if spec.is_midi:
            audio = render_midi(spec.source, sample_rate=sample_rate, soundfont=spec.soundfont, program=spec.program)
            audio = _trim(audio, spec.trim_s, sample_rate)
        else:
            audio, rate = read_audio(spec.source, mono=False)
            audio = _resample(_trim(_to_stereo(audio), spec.trim_s, rate), rate, sample_rate)
    except ComposerError as exc:
        raise RenderError(f"{where}: {exc}") from None
    if len(audio) == 0:
        raise RenderError(f"{where}: nothing left after trim {list(spec.trim_s)}")
    return _stretch_and_shift(audio, spec, sample_rate)


def _to_stereo(audio: np.ndarray) -> np.ndarray:
    """[n, c] to [n, 2]: mono is copied to both sides, more than two channels are averaged."""
    if audio.shape[1] == 2:
        return audio
    mono = audio.mean(axis=1, keepdims=True) if audio.shape[1] > 2 else audio
    return np.repeat(mono, 2, axis=1)


def _trim(audio: np.ndarray, trim_s: tuple[float, float | None], sample_rate: int) -> np.ndarray:
    begin = int(round(trim_s[0] * sample_rate))
    end = None if trim_s[1] is None else int(round(trim_s[1] * sample_rate))
    return audio[begin:end]


def _resample(audio: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    if rate == sample_rate:
        return audio
    import soxr

    return soxr.resample(audio, rate, sample_rate, quality="HQ").astype(np.float32)


def _stretch_and_shift(audio: np.ndarray, spec: StemSpec, sample_rate: int) -> np.ndarray:
    """librosa's phase-vocoder time stretch and pitch shift; channels first inside librosa."""
    if spec.time_stretch == 1.0 and spec.pitch_shift == 0.0:
        return np.ascontiguousarray(audio, dtype=np.float32)
    import librosa

    y = np.ascontiguousarray(audio.T)
    if spec.time_stretch != 1.0:
        y = librosa.effects.time_stretch(y, rate=spec.time_stretch)
    if spec.pitch_shift != 0.0:
        y = librosa.effects.pitch_shift(y, sr=sample_rate, n_steps=spec.pitch_shift)
    return np.ascontiguousarray(y.T, dtype=np.float32)


def _mix_length(loaded: list[tuple[StemSpec, np.ndarray]], master: MasterSpec) -> int:
    """Samples in the mix: master.length, else the end of the longest non-looping stem."""
    rate = master.sample_rate
    if master.length_s is not None:
        return int(round(master.length_s * rate))
    return max(int(round(s.start_s * rate)) + len(a) for s, a in loaded if not s.loop)


def _place(spec: StemSpec, audio: np.ndarray, index: int, n_samples: int, sample_rate: int) -> PlacedStem:
    """Loop or cut the stem to the mix, fade it, then apply loudness, gain and constant-power pan."""
    offset = min(int(round(spec.start_s * sample_rate)), n_samples)
    span = n_samples - offset if spec.loop else min(len(audio), n_samples - offset)
    pan = pan_gains(spec.pan)
    gains = np.float32(loudness.db_to_gain(spec.gain_db + _normalize_db(audio, pan, spec.lufs, sample_rate))) * pan
    placed = np.resize(audio, (span, 2)) if spec.loop else audio[:span]  # resize repeats whole rows
    for channel in range(2):  # in place (the loaded audio is ours), a column at a time: no stereo temporary
        placed[:, channel] *= gains[channel]
    _fade(placed, int(round(spec.fade_in_s * sample_rate)), int(round(spec.fade_out_s * sample_rate)))
    return PlacedStem(spec, offset, placed, f"{index:02d}_{spec.source.stem}")


def _normalize_db(audio: np.ndarray, pan: np.ndarray, lufs: float | None, sample_rate: int) -> float:
    """Gain (dB) that brings ``audio`` panned by ``pan`` to ``lufs``; 0 without a target or for silence.

    Generated stems arrive at any level (an LSTM+VAE texture of a quiet corpus sits near
    -46 dBFS), so a stem-level loudness target makes gain_db mean the same thing for every stem.
    """
    measured = None if lufs is None else loudness.integrated_lufs(audio * pan, sample_rate)
    return 0.0 if measured is None else lufs - measured


def pan_gains(pan: float) -> np.ndarray:
    """Constant-power pan law: [cos t, sin t] with t = (pan + 1) pi / 4, so L^2 + R^2 = 1.

    pan -1 is hard left, 0 centre (-3 dB each side), 1 hard right. Shape [2], float32.
    """
    theta = (pan + 1.0) * np.pi / 4.0
    return np.array([np.cos(theta), np.sin(theta)], dtype=np.float32)


def _fade(audio: np.ndarray, fade_in: int, fade_out: int) -> None:
    """Linear fades in place over the first ``fade_in`` and last ``fade_out`` samples."""
    fade_in, fade_out = min(fade_in, len(audio)), min(fade_out, len(audio))
    if fade_in:
        audio[:fade_in] *= np.linspace(0.0, 1.0, fade_in, endpoint=False, dtype=np.float32)[:, None]
    if fade_out:
        audio[len(audio) - fade_out:] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)[:, None]


def crossfade(tail: np.ndarray, body: np.ndarray) -> np.ndarray:
    """``body`` [n, 2] with ``tail`` [m <= n, 2] fading out under its first m samples as it fades in.

    Equal-power curves (the sine and cosine of one angle): two unrelated signals keep their summed
    power through the join, where linear fades would dip by 3 dB halfway. A new array.
    """
    theta = np.linspace(0.0, np.pi / 2, len(tail), dtype=np.float32)[:, None]
    joined = body.astype(np.float32, copy=True)
    joined[:len(tail)] = body[:len(tail)] * np.sin(theta) + tail * np.cos(theta)
    return joined


def layer_under(music: np.ndarray, layer: np.ndarray, *, level_db: float, sample_rate: int) -> np.ndarray:
    """``music`` [n, 2] with ``layer`` [n, 2] added ``level_db`` LU from the music's loudness (BS.1770),
    as a stem's ``lufs`` target sets it; a silent layer is added as it is, under silent music none.
    """
    music_lufs = loudness.integrated_lufs(music, sample_rate)
    if music_lufs is None:
        return music.astype(np.float32, copy=True)
    gain_db = _normalize_db(layer, np.ones(2, np.float32), music_lufs + level_db, sample_rate)
    return music + layer * np.float32(loudness.db_to_gain(gain_db))


def _master(bus: np.ndarray, master: MasterSpec) -> tuple[np.ndarray, float, float | None]:
    """Loudness-normalize and limit the bus, leaving headroom for 16-bit dither.

    Returns (audio float32 [n, 2], master gain dB, LUFS of the result). The limiter lowers the
    loudness of dense material, so then the gain is corrected from the result (twice at most).
    The true-peak trim, a scalar, is folded into the master gain.
    """
    rate, target = master.sample_rate, master.target_lufs
    bits = master.bit_depth if master.bit_depth != "float" else None
    ceiling = loudness.db_to_gain(master.ceiling_db) - loudness.pcm_headroom(bits)
    lufs = loudness.integrated_lufs(bus, rate)
    gain_db = 0.0 if target is None or lufs is None else target - lufs
    bus_peak = loudness.peak(bus)
    for attempt in range(3):
        gain = loudness.db_to_gain(gain_db)
        out = loudness.limit_sample_peaks(bus * np.float32(gain), rate, ceiling=ceiling)
        if lufs is None or bus_peak * gain <= ceiling:  # the limiter did nothing
            result_lufs = None if lufs is None else lufs + gain_db
            break
        result_lufs = loudness.integrated_lufs(out, rate)
        if target is None or abs(result_lufs - target) < LUFS_TOLERANCE or attempt == 2:
            break
        gain_db += target - result_lufs
    trim_db = loudness.gain_to_db(loudness.trim_true_peak(out, rate, ceiling=ceiling))
    gain_db += trim_db
    result_lufs = None if result_lufs is None else result_lufs + trim_db
    return out, gain_db, result_lufs


def _sum(placed: list[PlacedStem], n_samples: int) -> np.ndarray:
    """The master bus: every stem added at its offset, float32 [n_samples, 2]."""
    bus = np.zeros((n_samples, 2), dtype=np.float32)
    for stem in placed:
        bus[stem.offset:stem.offset + len(stem.audio)] += stem.audio
    return bus


def _measure(stem: PlacedStem, sample_rate: int) -> tuple[np.ndarray, float]:
    """BS.1770 block powers and sample peak of the stem before the master gain, so that they
    can be taken while the bus is mastered: the gain only scales them."""
    return loudness.block_powers(stem.audio, sample_rate), loudness.peak(stem.audio)


def _write_stem(stem: PlacedStem, gain: np.float32, n_samples: int, master: MasterSpec, folder: Path, *,
                seed: int) -> Path:
    """Write the stem with the master gain, full mix length, to ``folder`` at the master's bit
    depth (16-bit dithered with its own ``seed``, so the stems' dither is independent).

    The stem's audio is only read, so this may run while the stem is still being measured.
    """
    audio = _padded(stem, n_samples, gain=gain, pcm16_seed=seed if master.bit_depth == 16 else None)
    return write_audio(folder / f"{stem.name}.wav", audio, master.sample_rate, subtype=master.subtype, sync=False)


def _describe(stem: PlacedStem, level: tuple[np.ndarray, float], gain: np.float32, path: Path | None,
              master: MasterSpec) -> dict:
    """The stem's mix.json entry; its levels are measured before the master gain, scaled by it."""
    powers, peak = level
    return {"source": str(stem.spec.source), "gain_db": stem.spec.gain_db, "pan": stem.spec.pan,
            "start_s": stem.offset / master.sample_rate,
            "lufs": _rounded(loudness.gated_lufs(powers * float(gain) ** 2)),
            "peak_db": _rounded(loudness.gain_to_db(peak * float(gain))),
            "path": None if path is None else str(path), "subtype": None if path is None else master.subtype}


def _report(audio: np.ndarray, stems: list[dict], gain_db: float, lufs: float | None, master: MasterSpec,
            out: Path) -> dict:
    """The mix.json content; ``audio`` is the mix as written (float, or int16 on the 32767 grid)."""
    peak = loudness.peak(audio) / (32767.0 if audio.dtype == np.int16 else 1.0)
    return {"sample_rate": master.sample_rate, "length_s": len(audio) / master.sample_rate, "lufs": _rounded(lufs),
            "peak_db": _rounded(loudness.gain_to_db(peak)), "master_gain_db": round(gain_db, 3),
            "bit_depth": master.bit_depth, "path": str(out), "stems": stems}


def _padded(stem: PlacedStem, n_samples: int, *, gain: np.float32, pcm16_seed: int | None = None) -> np.ndarray:
    """The stem times ``gain`` at its place in a full-length [n_samples, 2] buffer, so stems line up
    in a DAW: float32, or dithered int16 with ``pcm16_seed`` (the silence around it stays silent)."""
    full = np.zeros((n_samples, 2), dtype=np.float32 if pcm16_seed is None else np.int16)
    span = full[stem.offset:stem.offset + len(stem.audio)]
    if pcm16_seed is None:
        np.multiply(stem.audio, gain, out=span)
    else:
        loudness.quantize_16bit(stem.audio, seed=pcm16_seed, gain=float(gain), out=span)
    return full


def _pool() -> ThreadPoolExecutor:
    """Threads for per-stem work; the heavy parts run in C without the GIL."""
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
