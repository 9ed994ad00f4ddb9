"""The radio streams 60 s at real time with no gap at any join, generation always ahead of playback,
and controls that change from the next segment on."""

from __future__ import annotations

import time
import urllib.request

import numpy as np
import pretty_midi
import pytest

from composer.studio.radio import PREBUFFER_S
from composer.studio.segments import PRIMER_S, SAMPLE_RATE, SEGMENT_S
from composer.symbolic.midi import PRIMER_MARKER
from tests.studio.conftest import RUN_NAME, TEXTURE_NAME

STREAM_S = 60.0
MAX_SILENCE_S = 0.5

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def longest_silence_s(pcm: np.ndarray) -> float:
    """The longest run of digital silence (every channel exactly 0) in int16 [n, 2], in seconds."""
    silent = np.r_[False, (pcm == 0).all(axis=1), False]
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    return float((edges[1::2] - edges[0::2]).max(initial=0)) / SAMPLE_RATE


def test_sixty_seconds_without_gaps_and_ahead_of_real_time(studio_server, trained_run, texture_run):
    studio_server.post("/api/radio/stop")
    status, answer = studio_server.post("/api/radio/controls", {"run": RUN_NAME, "key": "C major", "temperature": 1.0,
                                                                "texture": TEXTURE_NAME, "texture_db": -15})
    assert status == 200 and answer["settings"]["key"] == "C major" and answer["settings"]["texture"] == TEXTURE_NAME
    frames, chunks, changed_at = int(STREAM_S * SAMPLE_RATE), [], None
    with urllib.request.urlopen(studio_server.url + "/api/radio/stream.wav", timeout=60) as stream:
        header = stream.read(44)
        began = time.monotonic()
        received = 0
        while received < frames * 4:
            chunk = stream.read(min(1 << 16, frames * 4 - received))
            assert chunk, "the stream ended"
            chunks.append(chunk)
            received += len(chunk)
            if changed_at is None and received > 20 * SAMPLE_RATE * 4:
                changed_at = studio_server.get("/api/radio")[1]["segments"]
                studio_server.post("/api/radio/controls", {"key": "A minor", "temperature": 0.8, "texture": ""})
        took_s = time.monotonic() - began
    status = studio_server.get("/api/radio")[1]
    studio_server.post("/api/radio/stop")

    assert header[:4] == b"RIFF" and header[8:16] == b"WAVEfmt "
    pcm = np.frombuffer(b"".join(chunks), "<i2").reshape(-1, 2)
    assert took_s > STREAM_S - PREBUFFER_S - 1.0  # paced at real time, not dumped
    joins = [j for j in status["joins_s"] if j < STREAM_S - 1]
    assert len(joins) >= 8
    for join_s in joins:  # no gap where one segment hands over to the next
        window = pcm[int((join_s - 1) * SAMPLE_RATE):int((join_s + 1) * SAMPLE_RATE)]
        assert longest_silence_s(window) <= MAX_SILENCE_S, f"silence at the join at {join_s} s"
    assert np.abs(pcm.astype(np.float32)).max() > 1000  # it is music, not near-silence
    assert status["underrun_s"] == 0 and status["min_lead_s"] > 0  # generation stayed ahead
    print(f"\nradio: {status['segments']} segments; least ahead when a segment arrived {status['min_lead_s']} s; "
          f"made at {status['realtime_factor']}x real time; longest silence {longest_silence_s(pcm):.3f} s; "
          f"seconds to make each: {[s['make_s'] for s in status['recent']]}")

    recent = {s["index"]: s for s in status["recent"]}
    assert recent[max(recent)]["key"] == "A minor" and not recent[max(recent)]["texture"]  # changed from then on
    before = [s for index, s in recent.items() if index < changed_at]
    assert before and all(s["key"] == "C major" and s["texture"] for s in before)
    assert_segments_continue(studio_server.root / "radio")



def assert_segments_continue(folder):
    """The latest segment's primer is the previous segment's last 4 s, and the segment opens with it."""
    latest = max(int(p.stem.split("-")[1]) for p in folder.glob("segment-*.mid"))
    primer = pretty_midi.PrettyMIDI(str(folder / f"primer-{latest}.mid")).instruments[0].notes
    previous = pretty_midi.PrettyMIDI(str(folder / f"segment-{latest - 1}.mid"))
    end = next(t.time for t in previous.text_events if t.text == PRIMER_MARKER) + SEGMENT_S
    tail = [n for n in previous.instruments[0].notes if end - PRIMER_S <= n.start < end]
    assert primer and [(n.pitch, round(n.start - end + PRIMER_S, 2)) for n in tail] == [
        (n.pitch, round(n.start, 2)) for n in primer]
    segment = pretty_midi.PrettyMIDI(str(folder / f"segment-{latest}.mid"))
    (marker,) = [t.time for t in segment.text_events if t.text == PRIMER_MARKER]
    opening = sorted((n.start, n.pitch) for n in segment.instruments[0].notes if n.start < marker)
    assert [p for _, p in opening] == [p for _, p in sorted((n.start, n.pitch) for n in primer)]
