"""The radio: an endless study-music stream that keeps generating ahead of the listener.

A producer thread makes segments (``segments.make_segment``) while less than ``LEAD_TARGET_S``
of audio waits unplayed, and appends them, cross-faded, to one PCM buffer. The listener's
stream (``listen``) is an endless 16-bit WAV paced at real time, ``PREBUFFER_S`` ahead of the
wall clock. ``status`` says how far ahead generation stayed: the unplayed audio left when each
segment arrived (``min_lead_s``), and how fast segments are made (``realtime_factor``).
"""

from __future__ import annotations

import logging
import shutil
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from composer.errors import ComposerError
from composer.generate import options_of
from composer.options import check_values
from composer.render.mixer import crossfade
from composer.studio.runs import find_run, list_runs, run_summary
from composer.studio.schemas import RadioControls
from composer.studio.segments import SAMPLE_RATE, SEGMENT_S, Settings, Texture, make_segment
from composer.studio.workspace import StudioError, Workspace

LEAD_TARGET_S = 15.0  # make a new segment once less than this is buffered (margin for a busy CPU)
PREBUFFER_S = 2.0     # the stream runs this far ahead of real time (the browser's buffer)
BLOCK_S = 0.1
STARTUP_SEGMENTS = 2  # a listener's stream starts once this many segments are made
_BYTES_PER_FRAME = 4  # 16-bit stereo
_KEEP_SEGMENT_FILES = 3
_RECENT = 50  # segments described by status()
log = logging.getLogger(__name__)


def wav_header(sample_rate: int = SAMPLE_RATE) -> bytes:
    """A 16-bit stereo WAV header whose sizes say "unknown/endless" (0xFFFFFFFF), as live streams do."""
    byte_rate = sample_rate * _BYTES_PER_FRAME
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 2, sample_rate,
            byte_rate, _BYTES_PER_FRAME, 16) + b"data" + struct.pack("<I", 0xFFFFFFFF))


class Radio:
    """One station per studio: its controls, its producer thread and one listener at a time."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.folder = workspace.root / "radio"
        self._cond = threading.Condition()
        self._settings: Settings | None = None
        self._thread: threading.Thread | None = None
        self._listener = 0
        self._reset()

    def _reset(self) -> None:
        self._pcm = bytearray()
        self._made_s = self._played_s = self._underrun_s = 0.0
        self._segments: list[dict[str, Any]] = []
        self._error: str | None = None
        self._running = False

    # ------------------------------------------------------------ controls and status

    def set_controls(self, controls: RadioControls) -> dict[str, Any]:
        """New settings, used from the next segment on; checked now so a bad value is refused at once."""
        settings = self._settings or self._default_settings()
        changes: dict[str, Any] = {}
        if controls.run is not None:
            changes["run_dir"] = find_run(self.workspace, controls.run)
        if controls.temperature is not None:
            changes["temperature"] = controls.temperature
        if controls.key is not None:
            changes["key"] = controls.key or None
        if controls.density is not None:
            changes["density"] = controls.density or None
        if controls.texture is not None:
            changes["texture_dir"] = find_run(self.workspace, controls.texture) if controls.texture else None
        if controls.texture_db is not None:
            changes["texture_db"] = controls.texture_db
        settings = replace(settings, **changes)
        _check(settings, self.workspace)
        with self._cond:
            self._settings = settings
        return self.status()

    def status(self) -> dict[str, Any]:
        with self._cond:
            made = self._segments[1:]  # the first one also loads the model, and arrives to an empty buffer
            settings = self._settings
            return {
                "running": self._running, "error": self._error, "segments": len(self._segments),
                "generated_s": round(self._made_s, 2), "played_s": round(self._played_s, 2),
                "lead_s": round(self._made_s - self._played_s, 2),
                "min_lead_s": min((s["lead_at_arrival_s"] for s in made), default=None),
                "realtime_factor": _speed(made),
                "underrun_s": round(self._underrun_s, 2), "segment_s": SEGMENT_S,
                "joins_s": [s["starts_at_s"] for s in self._segments[1:]],
                "settings": None if settings is None else {
                    "run": _name(settings.run_dir, self.workspace), "temperature": settings.temperature,
                    "key": settings.key, "density": settings.density, "texture_db": settings.texture_db,
                    "texture": settings.texture_dir and _name(settings.texture_dir, self.workspace)},
                "recent": self._segments[-_RECENT:],
            }

    # ------------------------------------------------------------ producing

    def start(self) -> None:
        """Start the producer (idempotent)."""
        with self._cond:
            if self._running:
                return
            self._settings = self._settings or self._default_settings()
            self._reset()
            self._running = True
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._thread = threading.Thread(target=self._produce, name="studio-radio", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._listener += 1  # ends the current stream
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _produce(self) -> None:
        previous, tail, index, texture = None, None, 0, None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: not self._running or self._made_s - self._played_s < LEAD_TARGET_S)
                if not self._running:
                    return
                settings = self._settings
            began = time.perf_counter()
            if settings.texture_dir != (texture and texture.run_dir):
                texture = settings.texture_dir and Texture(settings.texture_dir, self.folder)
            try:
                segment = make_segment(settings, self.folder, index, previous)
                audio = segment.body if tail is None else crossfade(tail, segment.body)
                if texture:
                    audio = texture.under(audio, level_db=settings.texture_db)
            except ComposerError as exc:
                self._fail(str(exc))
                return
            except Exception as exc:  # a bug ends the radio, not the server
                log.exception("radio segment %d failed", index)
                self._fail(f"internal error: {type(exc).__name__}: {exc}")
                return
            pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
            with self._cond:
                lead = self._made_s - self._played_s
                self._segments.append({"index": index, "starts_at_s": round(self._made_s, 3),
                                       "make_s": round(time.perf_counter() - began, 3),
                                       "lead_at_arrival_s": round(lead, 3), "key": settings.key,
                                       "density": settings.density, "temperature": settings.temperature,
                                       "texture": settings.texture_dir is not None})
                self._pcm += pcm
                self._made_s += len(audio) / SAMPLE_RATE
                self._cond.notify_all()
            previous, tail, index = segment.midi, segment.tail, index + 1
            _prune(self.folder, index)

    def _fail(self, message: str) -> None:
        with self._cond:
            self._error, self._running = message, False
            self._cond.notify_all()

    # ------------------------------------------------------------ listening

    def listen(self) -> Iterator[bytes]:
        """Start the station and stream it: a WAV header, then PCM blocks at real time, until stopped or replaced."""
        self.start()
        with self._cond:
            self._listener += 1
            me = self._listener
        return self._stream(me)

    def _stream(self, me: int) -> Iterator[bytes]:
        yield wav_header()
        block = int(BLOCK_S * SAMPLE_RATE) * _BYTES_PER_FRAME
        with self._cond:  # start with two segments in hand: the second is made while the first plays
            self._cond.wait_for(lambda: self._listener != me or not self._running
                                or len(self._pcm) >= STARTUP_SEGMENTS * SEGMENT_S * SAMPLE_RATE * _BYTES_PER_FRAME,
                                timeout=120)
        clock: float | None = None
        sent_s = 0.0
        while True:
            waited = time.monotonic()
            with self._cond:
                ready = self._cond.wait_for(
                    lambda: self._listener != me or len(self._pcm) >= block or not self._running, timeout=60)
                if not ready or self._listener != me or len(self._pcm) < block:
                    return
                data = bytes(self._pcm[:block])
                del self._pcm[:block]
                self._played_s += BLOCK_S
                self._cond.notify_all()
            now = time.monotonic()
            if clock is None:
                clock = now
            elif now - waited > 0.05:  # nothing was ready: generation fell behind; restart the clock there
                self._underrun_s += now - waited
                clock += now - waited
            ahead = sent_s - (now - clock) - PREBUFFER_S
            if ahead > 0:
                time.sleep(ahead)
            sent_s += BLOCK_S
            yield data

    def _default_settings(self) -> Settings:
        symbolic = [run["name"] for run in list_runs(self.workspace) if run.get("output") == ".mid"]
        if not symbolic:
            raise StudioError(f"the radio needs a run that writes MIDI under {self.workspace.runs} "
                              "(train one with `composer train performance-rnn ...` or `music-transformer`)",
                              status=404)
        return Settings(run_dir=find_run(self.workspace, symbolic[0]))


def _speed(segments: list[dict[str, Any]]) -> float | None:
    """Seconds of music made per second of work (the median over segments): the headroom over real time."""
    return round(float(np.median([SEGMENT_S / s["make_s"] for s in segments])), 2) if segments else None


def _name(run_dir: Path, workspace: Workspace) -> str:
    return run_dir.relative_to(workspace.runs).as_posix()


def _check(settings: Settings, workspace: Workspace) -> None:
    """Refuse controls the runs cannot take (a key or density for an unconditioned model, a texture from MIDI)
    and values out of the family's ranges, as ``composer generate`` would."""
    name = _name(settings.run_dir, workspace)
    run = run_summary(workspace, name)
    check_values(options_of(run["model"]), {"temperature": settings.temperature, "density": settings.density},
                 fields=True)
    if run["output"] != ".mid":
        raise StudioError(f"run '{name}' makes audio; the radio plays a run that writes MIDI")
    texture = settings.texture_dir and run_summary(workspace, _name(settings.texture_dir, workspace))
    if texture and texture["output"] != ".wav":
        raise StudioError(f"texture run '{_name(settings.texture_dir, workspace)}' makes MIDI; "
                          "a texture comes from a run that writes audio")
    for control, value in (("density", settings.density), ("pitch_histogram", settings.key)):
        if value and control not in run["controls"]:
            raise StudioError(f"run '{name}' was not trained with the {control} control")
    if settings.key:
        from composer.measures.keys import parse_key

        parse_key(settings.key)


def _prune(folder: Path, index: int) -> None:
    """Keep only the last few segments' files (the next primer needs the previous MIDI)."""
    for path in folder.glob("*-*.*"):
        number = path.stem.rsplit("-", 1)[-1]
        if number.isdigit() and int(number) < index - _KEEP_SEGMENT_FILES:
            path.unlink(missing_ok=True)
