"""The Transcribe tab's API: upload a song, get its MIDI, a piano roll and a rendering; bad songs get
one line naming the upload."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

pytestmark = pytest.mark.timeout(300)
SAMPLE_RATE = 44100


def upload(server, name: str, data: bytes) -> tuple[int, dict]:
    boundary = "studio-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return server.request("POST", "/api/transcribe", body,
                          {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def wav_bytes(audio: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def chord_wav() -> bytes:
    from composer.render.synth import render_midi

    pm = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    piano.notes += [pretty_midi.Note(velocity=90, pitch=p, start=0.5, end=2.0) for p in (60, 64, 67)]
    pm.instruments.append(piano)
    return wav_bytes(render_midi(pm, sample_rate=SAMPLE_RATE))


def test_a_song_becomes_midi_with_a_piano_roll(studio_server):
    status, job = upload(studio_server, "my song.wav", chord_wav())
    assert status == 202 and job["kind"] == "transcribe"
    job = studio_server.wait(job)
    assert job["status"] == "done", job
    result = job["result"]
    assert result["name"] == "my song.wav" and result["seconds"] == pytest.approx(2.3, abs=0.1)
    files = {kind: studio_server.root / "scratch" / urlparse(url).path.split("/files/scratch/", 1)[1]
             for kind, url in result["files"].items()}
    assert files["midi"].name == "my_song.mid" and files["plot"].suffix == ".png"
    held = {n.pitch for n in pretty_midi.PrettyMIDI(str(files["midi"])).instruments[0].notes if n.end - n.start > 0.3}
    assert held == {60, 64, 67}
    assert files["plot"].stat().st_size > 1000 and sf.info(str(files["wav"])).duration > 1.5


@pytest.mark.parametrize("name, data, status, message", [
    ("notes.txt", b"just text", 400, "notes.txt: not an audio file (use .wav, .flac"),
])
def test_a_file_that_is_no_audio_is_refused_at_once(studio_server, name, data, status, message):
    code, answer = upload(studio_server, name, data)
    assert code == status and answer["error"].startswith(message)


@pytest.mark.parametrize("name, data, message", [
    ("quiet.wav", wav_bytes(np.zeros(SAMPLE_RATE, np.float32)), "quiet.wav: silent (peak -inf dBFS)"),
    ("broken.wav", b"RIFF\x00\x00junk" * 20, "broken.wav: cannot read audio"),
])
def test_a_song_with_nothing_to_transcribe_fails_its_job_with_one_line(studio_server, name, data, message):
    status, job = upload(studio_server, name, data)
    assert status == 202
    job = studio_server.wait(job)
    assert job["status"] == "error" and job["error"].startswith(message) and "uploads" not in job["error"]
