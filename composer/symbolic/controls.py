"""Conditioning controls of Performance RNN, computed per event with numpy.

Magenta's two control signals, looking *ahead* from each event (so a control says what the
music is about to do):
  - note density: note-ons per second in the next 3 s. Magenta one-hot codes it over octave
    bins (1, 2, 4, ... 64 notes/s), so a model asked for 2 notes/s may play anything up to 4;
    here it is a two-hot code over log-spaced centres half an octave apart, interpolated, so
    the model reads the asked value itself and not just its bin (15 numbers);
  - pitch-class histogram: how long each pitch class sounds in the next 5 s, normalized (12).
Events that share a time step share the control computed at the first of them, as in Magenta.
A model input at step i carries the control of event i + 1 (the event it predicts).
"""

from __future__ import annotations

import numpy as np

from composer.errors import ConfigError
from composer.symbolic.encoding import NUM_PITCHES, STEPS_PER_SECOND, PerformanceEncoding

CONTROL_NAMES = ("density", "pitch_histogram")
DENSITY_CENTERS = 2.0 ** (np.arange(-2, 13) / 2)  # 0.5 .. 64 notes/s, half an octave apart
DENSITY_WINDOW_S = 3.0
DENSITY_LADDER = 2.0 ** (np.arange(-4, 5) / 4)  # 0.5 .. 2 x: beyond, the control leaves what a corpus taught
HISTOGRAM_WINDOW_S = 5.0
HISTOGRAM_PRIOR = 0.01  # Magenta's prior count per pitch class (s)


def check_controls(names: tuple[str, ...]) -> None:
    """Raise ConfigError for an unknown control name."""
    for name in names:
        if name not in CONTROL_NAMES:
            raise ConfigError(f"unknown control '{name}' (allowed: {', '.join(CONTROL_NAMES)})")


def control_widths(names: tuple[str, ...]) -> list[int]:
    """Width of each control's block, in CONTROL_NAMES order: density 15, histogram 12."""
    return [{"density": len(DENSITY_CENTERS), "pitch_histogram": 12}[name] for name in CONTROL_NAMES
            if name in names]


def control_dim(names: tuple[str, ...]) -> int:
    """Width of the control vector: each control's block, then one 'absent' flag per control."""
    widths = control_widths(names)
    return sum(widths) + len(widths)


def event_steps(events: np.ndarray, encoding: PerformanceEncoding) -> tuple[np.ndarray, int]:
    """Time step (10 ms) at which each event happens, int64 [n_events], and the total length in steps."""
    events = np.asarray(events, np.int64)
    is_shift = (events >= encoding.shift_offset) & (events < encoding.velocity_offset)
    shift = np.where(is_shift, events - encoding.shift_offset + 1, 0)
    total = np.cumsum(shift)
    return total - shift, int(total[-1]) if len(events) else 0


def _block_start(events: np.ndarray, encoding: PerformanceEncoding) -> np.ndarray:
    """Index of the first event of each event's time step (the event after the last time shift)."""
    n = len(events)
    after_shift = np.zeros(n, bool)
    after_shift[0:1] = True
    is_shift = (events >= encoding.shift_offset) & (events < encoding.velocity_offset)
    after_shift[1:] = is_shift[:-1]
    return np.maximum.accumulate(np.where(after_shift, np.arange(n), 0))


def note_density(events: np.ndarray, encoding: PerformanceEncoding) -> np.ndarray:
    """Note-ons per second in the 3 s ahead of each event, float64 [n_events]."""
    events = np.asarray(events, np.int64)
    if len(events) == 0:
        return np.zeros(0)
    steps, total = event_steps(events, encoding)
    window = int(round(DENSITY_WINDOW_S * STEPS_PER_SECOND))
    onsets_before = np.concatenate([[0], np.cumsum(events < NUM_PITCHES)])
    start = _block_start(events, encoding)
    stop = np.searchsorted(steps, steps + window, side="left")
    count = onsets_before[stop] - onsets_before[start]
    span = np.minimum(window, total - steps)
    return np.where(span > 0, count * STEPS_PER_SECOND / np.maximum(span, 1), 0.0)


def pitch_histogram(events: np.ndarray, encoding: PerformanceEncoding) -> np.ndarray:
    """Seconds each pitch class sounds in the 5 s ahead of each event, normalized: float64 [n_events, 12].

    As Magenta: a pitch sounds from its note-on to its next note-off (set semantics), and the
    window ends with the time shift that reaches 5 s, so it may run over by up to one shift.
    """
    events = np.asarray(events, np.int64)
    steps, total = event_steps(events, encoding)
    is_note = events < encoding.shift_offset
    # Latest note event of each pitch at or before each step, then whether it was a note-on.
    latest = np.full((total + 1, NUM_PITCHES), -1)
    np.maximum.at(latest, (steps[is_note], events[is_note] % NUM_PITCHES), np.flatnonzero(is_note))
    latest = np.maximum.accumulate(latest, axis=0)[:total]
    sounding = np.zeros((total, 132))  # 11 octaves of 12 pitch classes
    sounding[:, :NUM_PITCHES] = (latest >= 0) & (events[np.maximum(latest, 0)] < NUM_PITCHES)
    per_class = sounding.reshape(total, 11, 12).sum(axis=1)
    integral = np.concatenate([np.zeros((1, 12)), np.cumsum(per_class, axis=0)]) / STEPS_PER_SECOND
    window = int(round(HISTOGRAM_WINDOW_S * STEPS_PER_SECOND))
    is_shift = ~is_note & (events < encoding.velocity_offset)
    shift_ends = (steps + events - encoding.shift_offset + 1)[is_shift]
    begin = steps[_block_start(events, encoding)] if len(events) else steps
    after = np.searchsorted(shift_ends, begin + window, side="left")
    end = np.append(shift_ends, total)[after]
    histogram = integral[end] - integral[begin] + HISTOGRAM_PRIOR
    return histogram / histogram.sum(axis=1, keepdims=True)


def density_code(density: np.ndarray) -> np.ndarray:
    """Notes/s [n] -> float32 [n, 15]: weights on the two nearest ``DENSITY_CENTERS`` in log2 space.

    The weights sum to 1 and their log-weighted mean is log2(density) inside 0.5..64 notes/s
    (outside, the end centre), so neighbouring densities get distinct codes.
    """
    with np.errstate(divide="ignore"):
        position = np.log2(np.asarray(density, np.float64)) * 2 - np.log2(DENSITY_CENTERS[0]) * 2
    position = np.clip(position, 0, len(DENSITY_CENTERS) - 1)
    low = np.minimum(np.floor(position).astype(int), len(DENSITY_CENTERS) - 2)
    upper = (position - low).astype(np.float32)
    code = np.zeros((len(position), len(DENSITY_CENTERS)), np.float32)
    rows = np.arange(len(position))
    code[rows, low] = 1 - upper
    code[rows, low + 1] = upper
    return code


def density_of(code: np.ndarray) -> np.ndarray:
    """The notes/s a ``density_code`` [n, 15] stands for (its inverse inside 0.5..64)."""
    return 2.0 ** (np.asarray(code, np.float64) @ np.log2(DENSITY_CENTERS))


def control_vectors(events: np.ndarray, encoding: PerformanceEncoding, names: tuple[str, ...]) -> np.ndarray:
    """Controls of every event, float32 [n_events, control_dim(names)] (flags 0: all present)."""
    parts = []
    if "density" in names:
        parts.append(density_code(note_density(events, encoding)))
    if "pitch_histogram" in names:
        parts.append(pitch_histogram(events, encoding).astype(np.float32))
    parts.append(np.zeros((len(events), len(parts)), np.float32))
    return np.concatenate(parts, axis=1)


def user_controls(names: tuple[str, ...], *, density: list[float] | None = None,
                  histograms: list[np.ndarray] | None = None) -> np.ndarray:
    """Controls a user asked for, float32 [n_segments, control_dim]; segments spread over the piece.

    A control not given is zeroed with its 'absent' flag set, as ``control_dropout`` trains.
    """
    values = {"density": density, "pitch_histogram": histograms}
    segments = max((len(v) for v in values.values() if v), default=1)
    rows = []
    for k in range(segments):
        blocks, flags = [], []
        for name, width in zip((n for n in CONTROL_NAMES if n in names), control_widths(names)):
            given = values[name]
            if not given:
                blocks.append(np.zeros(width, np.float32))
            elif name == "density":
                blocks.append(density_code(np.array([_pick(given, k, segments)]))[0])
            else:
                histogram = np.asarray(_pick(given, k, segments), np.float64)
                blocks.append((histogram / max(histogram.sum(), 1e-9)).astype(np.float32))
            flags.append(0.0 if given else 1.0)
        rows.append(np.concatenate([*blocks, np.array(flags, np.float32)]))
    return np.stack(rows).astype(np.float32)


def _columns(names: tuple[str, ...], name: str) -> tuple[slice, int]:
    """Where control ``name`` sits in a control row: its value columns and its 'absent' flag column."""
    widths = control_widths(names)
    k = [n for n in CONTROL_NAMES if n in names].index(name)
    return slice(sum(widths[:k]), sum(widths[:k + 1])), sum(widths) + k


def hidden(rows: np.ndarray, names: tuple[str, ...], name: str) -> np.ndarray:
    """A copy of control rows [..., control_dim(names)] with control ``name`` absent (zeroed, flag set)."""
    values, flag = _columns(names, name)
    rows = np.array(rows, np.float32)
    rows[..., values] = 0.0
    rows[..., flag] = 1.0
    return rows


def densities(rows: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The notes/s that control rows [K, C] ask for, float32 [K]."""
    return density_of(np.asarray(rows)[:, _columns(names, "density")[0]]).astype(np.float32)


def density_ladder(rows: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Control rows [K, C] -> [L, K, C]: the asked density times each ``DENSITY_LADDER`` factor, the
    other controls kept. The sampler's density feedback moves each piece along this ladder."""
    values, _ = _columns(names, "density")
    ladder = np.repeat(np.asarray(rows, np.float32)[None], len(DENSITY_LADDER), axis=0)
    asked = densities(rows, names)
    for level, factor in enumerate(DENSITY_LADDER):
        ladder[level, :, values] = density_code(asked * factor)
    return ladder


def _pick(values: list, k: int, segments: int):
    """The value of a list of len(values) stretched over ``segments`` segments at segment k."""
    return values[k * len(values) // segments]
