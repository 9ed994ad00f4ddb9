"""The mix spec: a YAML (or dict) of stems and master settings, checked before any audio work.

Example::

    master: {sample_rate: 44100, length: 30, target_lufs: -14, ceiling_db: -1, bit_depth: 16,
             tempo: 120, beats_per_bar: 4, plot: true, stems: true}
    stems:
      - {source: piano.mid, program: 0, lufs: -20, gain_db: -3, pan: -0.3}
      - {source: drums.wav, start: {bars: 2}, loop: true, fade_out: 2}
      - {source: vocal.flac, trim: [1.5, 20], pitch_shift: -2, time_stretch: 1.1}

Every problem is one ``RenderError`` line naming the spec file and the stem, e.g.
``mix.yaml: stem 2 (lead.wav): file not found``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from composer.audio_io import AUDIO_EXTENSIONS
from composer.errors import RenderError

MIDI_EXTENSIONS = (".mid", ".midi")
BIT_DEPTHS = {16: "PCM_16", 24: "PCM_24", "float": "FLOAT"}
MAX_LENGTH_S = 3600.0  # mixes are held in memory: each stereo float32 buffer of an hour at 44.1 kHz is 1.3 GB
_MASTER_KEYS = {"sample_rate", "length", "target_lufs", "ceiling_db", "bit_depth", "tempo", "beats_per_bar", "plot",
                "stems"}
_STEM_KEYS = {"source", "lufs", "gain_db", "pan", "start", "trim", "loop", "fade_in", "fade_out", "pitch_shift",
              "time_stretch", "program", "soundfont"}
_MIDI_ONLY = ("program", "soundfont")


@dataclass(frozen=True)
class StemSpec:
    """One stem: where it comes from and how it is placed. Times in seconds."""

    source: Path
    lufs: float | None = None  # bring the stem to this loudness (BS.1770) before gain_db
    gain_db: float = 0.0
    pan: float = 0.0  # -1 hard left .. 1 hard right
    start_s: float = 0.0
    trim_s: tuple[float, float | None] = (0.0, None)  # [from, to) in the source's time
    loop: bool = False
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    pitch_shift: float = 0.0  # semitones
    time_stretch: float = 1.0  # speed factor: 2.0 plays twice as fast
    program: int | None = None
    soundfont: Path | None = None

    @property
    def is_midi(self) -> bool:
        return self.source.suffix.lower() in MIDI_EXTENSIONS


@dataclass(frozen=True)
class MasterSpec:
    """Master bus settings. ``length_s`` None means: end of the longest non-looping stem."""

    sample_rate: int = 44100
    length_s: float | None = None
    target_lufs: float | None = -14.0
    ceiling_db: float = -1.0
    bit_depth: int | str = 16
    plot: bool = False
    stems: bool = True  # write each processed stem to stems/ (at bit_depth)

    @property
    def subtype(self) -> str:
        return BIT_DEPTHS[self.bit_depth]


@dataclass(frozen=True)
class MixSpec:
    name: str  # the spec file's name, for messages
    master: MasterSpec
    stems: tuple[StemSpec, ...]


def load_spec(spec: dict | str | os.PathLike) -> MixSpec:
    """Read and check a mix spec; relative stem paths resolve against the spec file's folder."""
    if isinstance(spec, dict):
        return parse_spec(spec, name="mix spec", base=Path.cwd())
    path = Path(spec)
    if not path.is_file():
        raise RenderError(f"{path}: mix spec not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RenderError(f"{path.name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise RenderError(f"{path}: not a text file (a mix spec is YAML)") from None
    return parse_spec(raw, name=path.name, base=path.parent)


def parse_spec(raw: Any, *, name: str, base: Path) -> MixSpec:
    """Turn the raw mapping into a MixSpec, raising RenderError('<name>: <where>: <what>')."""
    if not isinstance(raw, dict):
        raise RenderError(f"{name}: expected a mapping with 'stems' (and optional 'master')")
    _check_keys(raw, {"master", "stems"}, f"{name}")
    master_raw = raw.get("master") or {}
    if not isinstance(master_raw, dict):
        raise RenderError(f"{name}: master: expected a mapping")
    master = _parse_master(master_raw, f"{name}: master")
    stems_raw = raw.get("stems")
    if not isinstance(stems_raw, list) or not stems_raw:
        raise RenderError(f"{name}: 'stems' must be a non-empty list")
    tempo = (master_raw.get("tempo"), master_raw.get("beats_per_bar", 4))
    stems = tuple(_parse_stem(s, i + 1, name=name, base=base, tempo=tempo) for i, s in enumerate(stems_raw))
    if master.length_s is None and all(s.loop for s in stems):
        raise RenderError(f"{name}: master: 'length' is required when every stem loops")
    return MixSpec(name=name, master=master, stems=stems)


def _parse_master(raw: dict, where: str) -> MasterSpec:
    _check_keys(raw, _MASTER_KEYS, where)
    get = lambda key, default, **kw: _number(raw.get(key, default), key, where, **kw)  # noqa: E731
    sample_rate = int(get("sample_rate", 44100, low=8000, high=192000))
    length_s = None if raw.get("length") is None else get("length", None, low=0.0, high=MAX_LENGTH_S, strict=True)
    target_lufs = None if raw.get("target_lufs", -14.0) is None else get("target_lufs", -14.0, low=-70.0, high=0.0)
    ceiling_db = get("ceiling_db", -1.0, low=-60.0, high=0.0)
    bit_depth = raw.get("bit_depth", 16)
    if bit_depth not in BIT_DEPTHS:
        raise RenderError(f"{where}: bit_depth {bit_depth!r} is not one of 16, 24, float")
    get("tempo", 120, low=1.0, high=1000.0, strict=True)
    get("beats_per_bar", 4, low=1.0, high=64.0)
    flags = (_flag(raw.get(key, default), key, where) for key, default in (("plot", False), ("stems", True)))
    return MasterSpec(sample_rate, length_s, target_lufs, ceiling_db, bit_depth, *flags)


def _parse_stem(raw: Any, index: int, *, name: str, base: Path, tempo: tuple) -> StemSpec:
    if isinstance(raw, str):
        raw = {"source": raw}
    if not isinstance(raw, dict) or "source" not in raw:
        raise RenderError(f"{name}: stem {index}: expected a mapping with 'source'")
    where = f"{name}: stem {index} ({raw['source']})"
    _check_keys(raw, _STEM_KEYS, where)
    source = _existing(raw["source"], base, where, AUDIO_EXTENSIONS + MIDI_EXTENSIONS)
    is_midi = source.suffix.lower() in MIDI_EXTENSIONS
    for key in _MIDI_ONLY:
        if key in raw and not is_midi:
            raise RenderError(f"{where}: '{key}' applies only to MIDI stems")
    num = lambda key, default, **kw: _number(raw.get(key, default), key, where, **kw)  # noqa: E731
    program = raw.get("program")
    return StemSpec(
        source=source,
        lufs=None if raw.get("lufs") is None else num("lufs", None, low=-70.0, high=0.0),
        gain_db=num("gain_db", 0.0, low=-120.0, high=40.0),
        pan=num("pan", 0.0, low=-1.0, high=1.0),
        start_s=_start_seconds(raw.get("start", 0.0), where, tempo),
        trim_s=_trim(raw.get("trim"), where),
        loop=_flag(raw.get("loop", False), "loop", where),
        fade_in_s=num("fade_in", 0.0, low=0.0),
        fade_out_s=num("fade_out", 0.0, low=0.0),
        pitch_shift=num("pitch_shift", 0.0, low=-48.0, high=48.0),
        time_stretch=num("time_stretch", 1.0, low=0.05, high=20.0, strict=True),
        program=None if program is None else int(num("program", None, low=0, high=127)),
        soundfont=None if raw.get("soundfont") is None else _existing(raw["soundfont"], base, where, (".sf2", ".sf3")),
    )


def _start_seconds(value: Any, where: str, tempo: tuple) -> float:
    """``start`` as seconds, or ``{bars: N, tempo: BPM, beats_per_bar: 4}`` (tempo from master)."""
    if not isinstance(value, dict):
        return _number(value, "start", where, low=0.0, high=MAX_LENGTH_S)
    _check_keys(value, {"bars", "tempo", "beats_per_bar"}, f"{where}: start")
    bars = _number(value.get("bars"), "start.bars", where, low=0.0)
    bpm = value.get("tempo", tempo[0])
    if bpm is None:
        raise RenderError(f"{where}: start in bars needs a tempo (in the stem's start or in master)")
    bpm = _number(bpm, "start.tempo", where, low=1.0, strict=True)
    beats = _number(value.get("beats_per_bar", tempo[1]), "start.beats_per_bar", where, low=1.0)
    start_s = bars * beats * 60.0 / bpm
    if start_s > MAX_LENGTH_S:
        raise RenderError(f"{where}: start at {start_s:.0f} s is past the longest mix ({MAX_LENGTH_S:.0f} s)")
    return start_s


def _trim(value: Any, where: str) -> tuple[float, float | None]:
    """``trim: [from_s, to_s]`` (to_s may be null) or ``trim: from_s``."""
    if value is None:
        return (0.0, None)
    if not isinstance(value, (list, tuple)):
        value = [value, None]
    if len(value) != 2:
        raise RenderError(f"{where}: trim must be [from_s, to_s] (to_s may be null), got {value!r}")
    begin = _number(value[0], "trim", where, low=0.0)
    end = None if value[1] is None else _number(value[1], "trim", where, low=0.0)
    if end is not None and end <= begin:
        raise RenderError(f"{where}: trim end {end} must be after its start {begin}")
    return (begin, end)


def _existing(value: Any, base: Path, where: str, extensions: tuple[str, ...]) -> Path:
    path = Path(os.path.expanduser(str(value)))
    path = path if path.is_absolute() else Path(os.path.normpath(base / path))
    if path.suffix.lower() not in extensions:
        raise RenderError(f"{where}: '{path.name}' has an unsupported type (use {', '.join(extensions)})")
    if not path.is_file():
        raise RenderError(f"{where}: file not found: {path} (relative paths are read from the spec's folder)")
    return path


def _number(value: Any, key: str, where: str, *, low: float = -math.inf, high: float = math.inf,
            strict: bool = False) -> float:
    """A finite number in [low, high] (or (low, high] when ``strict``); RenderError otherwise."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value > low if strict else value >= low) and value <= high:
        return float(value)
    bound = f"> {low}" if strict else f">= {low}"
    bounds = bound if high == math.inf else f"{bound} and <= {high}"
    raise RenderError(f"{where}: {key} must be a number {bounds}, got {value!r}")


def _flag(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise RenderError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def _check_keys(raw: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, raw)) - allowed)
    if unknown:
        raise RenderError(f"{where}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")
