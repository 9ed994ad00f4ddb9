"""Long recordings in bounded memory: audio blocks into the network's windows, and its frames into
segments for note creation.

Basic Pitch reads a whole file, runs every window, and decodes notes over one matrix of the whole
piece: for a two-hour file that is a gigabyte of posteriors and a note search whose cost grows with
the square of the length. Here audio flows through as blocks, windows and frames, and notes are
decoded per segment of ``core`` frames with ``margin`` frames of context on each side; a segment
keeps only the notes that start in its core, so every note is found once, from the segment where
it starts, with context around its onset. A note held longer than the margin is cut at the
segment's end. A piece shorter than one core is decoded in one go, exactly as Basic Pitch would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

# (start frame, end frame, pitch, amplitude): Basic Pitch's note events, in frames of the whole piece
Event = tuple[int, int, int, float]
Decoder = Callable[[np.ndarray, np.ndarray], list[Event]]  # (note, onset) [frames, 88] -> events, local frames


def windows(blocks: Iterable[np.ndarray], *, samples: int, hop: int, lead: int) -> Iterator[np.ndarray]:
    """The windows Basic Pitch cuts (``lead`` zeros, then the audio; one window of ``samples`` every
    ``hop``; the last ones zero-padded), from audio arriving in blocks of any length.

    Args:
      blocks: float32 [n] arrays, the recording in order.
    Yields:
      float32 [samples] windows; at most ``samples + len(block)`` samples are held at a time.
    """
    buffer = np.zeros(lead, np.float32)
    for block in blocks:
        buffer = np.concatenate([buffer, np.asarray(block, np.float32)])
        while len(buffer) >= samples:
            yield buffer[:samples]
            buffer = buffer[hop:]
    while len(buffer):  # windows that run past the end (every start before it gets one)
        yield np.pad(buffer[:samples], (0, max(0, samples - len(buffer))))
        buffer = buffer[hop:]


def batches(items: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Stack consecutive arrays of the same shape into batches of at most ``size``: [batch, ...]."""
    batch: list[np.ndarray] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


class Segmenter:
    """Decode notes segment by segment while frames are pushed in, holding at most
    ``core + 2 * margin`` frames (plus one push).

    ``push(note, onset)`` takes the next frames ([n, 88] each) and returns the events decoded so far;
    ``finish(n_frames)`` drops frames past the piece's length and decodes the rest. Event frames
    count from the piece's start.
    """

    def __init__(self, decode: Decoder, *, core: int, margin: int) -> None:
        assert core > 0 and margin >= 0
        self.decode, self.core, self.margin = decode, core, margin
        self.offset = 0  # piece frame of the buffer's first frame
        self.core_start = 0  # piece frame where the next segment's core starts
        self.note: np.ndarray | None = None
        self.onset: np.ndarray | None = None
        self.peak_frames = 0  # most frames held at once (tests check the bound)

    def push(self, note: np.ndarray, onset: np.ndarray) -> list[Event]:
        self.note = note if self.note is None else np.concatenate([self.note, note])
        self.onset = onset if self.onset is None else np.concatenate([self.onset, onset])
        self.peak_frames = max(self.peak_frames, len(self.note))
        events = []
        while self.offset + len(self.note) >= self.core_start + self.core + self.margin:
            events += self._segment(self.core_start + self.core)
        return events

    def finish(self, n_frames: int) -> list[Event]:
        if self.note is None:
            return []
        keep = max(0, n_frames - self.offset)
        self.note, self.onset = self.note[:keep], self.onset[:keep]
        events = []
        while self.core_start < n_frames:
            events += self._segment(n_frames if n_frames - self.core_start < 2 * self.core else
                                    self.core_start + self.core)
        return events

    def _segment(self, core_end: int) -> list[Event]:
        """Decode the segment whose core is [core_start, core_end), then forget what no later one needs."""
        first = max(self.offset, self.core_start - self.margin)
        local = slice(first - self.offset, core_end + self.margin - self.offset)
        found = self.decode(self.note[local], self.onset[local])
        events = [(start + first, end + first, pitch, amplitude) for start, end, pitch, amplitude in found
                  if self.core_start <= start + first < core_end]
        self.core_start = core_end
        drop = max(0, self.core_start - self.margin - self.offset)
        self.note, self.onset, self.offset = self.note[drop:], self.onset[drop:], self.offset + drop
        return events
