"""The studio's HTTP API against a real server: bad input gets one clear message, files stay inside
the studio's folders, and generate -> keep -> mix leaves files the CLI can use."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pretty_midi
import pytest
import yaml

from tests.studio.conftest import RUN_NAME, TEXTURE_NAME

pytestmark = pytest.mark.timeout(300)


def raw_get(server, path: str) -> tuple[int, bytes]:
    """GET ``path`` byte for byte (urllib would normalize '..' away before sending)."""
    url = urlparse(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    return response.status, response.read()


def test_page_is_served_with_its_own_assets_only(studio_server):
    status, page = raw_get(studio_server, "/")
    assert status == 200 and b"composer studio" in page
    assets = re.findall(rb'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith(b"/static/") for a in assets), assets
    for asset in assets:
        status, body = raw_get(studio_server, asset.decode())
        assert status == 200 and body and b"http://" not in body and b"https://" not in body


@pytest.mark.parametrize("path", [
    "/files/session/../../../../../../etc/passwd",
    "/files/session/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/files/runs/%2Fetc%2Fpasswd",
    "/files/scratch/..%2F..%2F..%2Fstudio%2F..%2F..%2F..%2F..%2Fetc%2Fhostname",
    "/files/etc/passwd",
    "/files/session/kept/outside.txt",  # a symlink pointing out of the session
])
def test_path_traversal_is_refused(studio_server, tmp_path, path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0 secret")
    link = studio_server.session / "kept" / "outside.txt"
    if not link.is_symlink():
        link.symlink_to(secret)
    status, body = raw_get(studio_server, path)
    assert status in (403, 404), (path, status)
    message = json.loads(body)["error"]
    assert "secret" not in message and "root:" not in body.decode()
    assert "outside" in message or "no such file" in message or "unknown area" in message or "Not Found" in message


def test_a_file_inside_the_session_is_served(studio_server):
    note = studio_server.session / "kept" / "note.txt"
    note.write_text("kept")
    assert raw_get(studio_server, "/files/session/kept/note.txt") == (200, b"kept")


@pytest.mark.parametrize("body, field", [
    ({"run": RUN_NAME, "temperature": "hot"}, "temperature"),
    ({"run": RUN_NAME, "num": 2.5}, "num"),
    ({"run": RUN_NAME, "seconds": "long"}, "seconds"),
    ({"run": RUN_NAME, "bogus": 1}, "bogus"),
    ({}, "run"),
])
def test_absurd_values_get_one_line_naming_the_field(studio_server, body, field):
    status, answer = studio_server.post("/api/generate", body)
    assert status == 422
    assert answer["error"].startswith(f"{field}: ") and "\n" not in answer["error"]
    assert studio_server.get("/api/info")[0] == 200  # the server lives on


@pytest.mark.parametrize("run, seconds, message", [  # the CLI's range (composer.generate.check_seconds)
    (RUN_NAME, 1e9, "seconds must be within (0, 3600] for this model (join longer pieces with composer mix), "
                    "got 1000000000.0"),
    (RUN_NAME, -1, "seconds must be within (0, 3600] for this model (join longer pieces with composer mix), got -1.0"),
    (RUN_NAME, float("nan"), "seconds must be within (0, 3600] for this model (join longer pieces with composer mix), "
                             "got nan (not a number)"),
    (TEXTURE_NAME, 1000, "seconds must be within (0, 600] for this model"),
])
def test_the_length_of_a_take_has_the_clis_range(studio_server, trained_run, texture_run, run, seconds, message):
    status, answer = studio_server.post("/api/generate", {"run": run, "seconds": seconds})
    assert status == 400 and answer["error"].startswith(message)


@pytest.mark.parametrize("field, value, message", [  # issue 28 item 8: the ranges composer generate declares
    ("temperature", 9, "temperature must be within [0.0, 5.0], got 9.0"),
    ("num", 100, "num must be within 1..64, got 100"),
    ("num", 0, "num must be within 1..64, got 0"),
    ("top_p", 0, "top_p must be within (0.0, 1.0], got 0.0"),
    ("top_p", 2, "top_p must be within (0.0, 1.0], got 2.0"),
    ("seed", -5, "seed must be within 0..2147483647, got -5"),
    ("density", -1, "density must be within [0.0, 64.0], got -1.0"),
])
def test_generation_options_have_the_clis_ranges(studio_server, trained_run, field, value, message):
    status, answer = studio_server.post("/api/generate", {"run": RUN_NAME, field: value})
    assert (status, answer["error"]) == (400, message)


def test_an_unknown_run_is_named(studio_server):
    status, answer = studio_server.post("/api/generate", {"run": "no-such-run"})
    assert status == 404 and answer["error"].startswith("unknown run 'no-such-run'")


def test_malformed_json_is_a_clear_error(studio_server):
    status, answer = studio_server.request("POST", "/api/generate", b"{not json",
                                           {"Content-Type": "application/json"})
    assert status == 422 and "JSON" in answer["error"]


def _upload(server, name: str, data: bytes) -> tuple[int, dict]:
    boundary = "studio-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return server.request("POST", "/api/primers", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.mark.parametrize("name, data, message", [
    ("notes.txt", b"just some text", "notes.txt: not a MIDI file"),
    ("broken.mid", b"MThd\x00\x00\x00\x06garbage", "broken.mid: not a readable MIDI file"),
    ("empty.mid", None, "empty.mid: the MIDI file has no notes"),
])
def test_a_bad_primer_is_refused_with_its_name(studio_server, tmp_path, name, data, message):
    if data is None:
        path = tmp_path / "empty.mid"
        pretty_midi.PrettyMIDI().write(str(path))
        data = path.read_bytes()
    status, answer = _upload(studio_server, name, data)
    assert status == 400 and answer["error"].startswith(message)


@pytest.mark.parametrize("path, message", [
    ("/api/jobs/generate-999", "unknown job 'generate-999'"),
    ("/api/kept/nothing-here/musicxml", "no kept MIDI take 'nothing-here'"),
    ("/api/nowhere", "/api/nowhere: Not Found"),
])
def test_unknown_things_are_404_with_a_message(studio_server, path, message):
    assert studio_server.get(path) == (404, {"error": message})


@pytest.mark.parametrize("body, status, message", [
    ({"name": "m", "tracks": [{"source": "missing.mid"}]}, 404, "track 1: 'missing.mid' is not a kept take"),
    ({"name": "m", "tracks": [{"source": "../../etc/passwd"}]}, 400, "track 1 source '../../etc/passwd' must be"),
    ({"name": "../evil", "tracks": [{"source": "a.mid"}]}, 400, "mix name '../evil' must be"),
    ({"name": "m", "tracks": []}, 422, "tracks: "),
    ({"name": "m", "tracks": [{"source": "a.mid", "pan": 3}]}, 422, "tracks.0.pan: "),
])
def test_bad_mixes_are_refused(studio_server, body, status, message):
    answer = studio_server.post("/api/mix", body)
    assert answer[0] == status and answer[1]["error"].startswith(message)


@pytest.mark.slow
def test_runs_lists_family_corpus_steps_and_score(studio_server, trained_run):
    status, runs = studio_server.get("/api/runs")
    assert status == 200
    run = next(run for run in runs if run["name"] == RUN_NAME)
    assert run["model"] == "performance-rnn" and run["corpus"] == "bach" and run["output"] == ".mid"
    assert run["step"] == 30 and run["held_out"]["metric"] == "eval_nll_per_event" and run["held_out"]["value"] > 0
    assert run["controls"] == ["density", "pitch_histogram"]


@pytest.mark.slow
def test_a_bad_key_fails_at_once(studio_server, trained_run):
    status, answer = studio_server.post("/api/generate", {"run": RUN_NAME, "key": "H minor"})
    assert status == 400 and answer["error"].startswith("key 'H minor' not understood")


@pytest.mark.slow
def test_generate_keep_and_mix_leave_files_the_cli_can_use(studio_server, trained_run, tmp_path, make_midi):
    from composer.generate import generate
    from composer.render.mixer import mix

    primer = make_midi(tmp_path / "primer.mid", pitches=(60, 64, 67, 72))
    status, uploaded = _upload(studio_server, "primer.mid", primer.read_bytes())
    assert status == 200 and uploaded["notes"] == 4
    request = {"run": RUN_NAME, "seconds": 3, "num": 2, "seed": 7, "temperature": 0.9, "key": "D minor",
               "density": 4, "primer": uploaded["id"]}
    status, job = studio_server.post("/api/generate", request)
    assert status == 202
    job = studio_server.wait(job)
    assert job["status"] == "done", job["error"]
    takes = job["result"]["takes"]
    assert [t["take"] for t in takes] == [1, 2] and set(takes[0]["files"]) == {"midi", "quantized", "wav", "plot"}

    status, kept = studio_server.post("/api/keep", {"job": job["id"], "take": 2})
    assert status == 200
    kept_dir = studio_server.session / "kept"
    sidecar = json.loads((kept_dir / f"{kept['name']}.json").read_text())
    assert sidecar["settings"] == dict(request, top_p=None) and sidecar["take"] == 2
    assert "--seed 7" in sidecar["command"] and "--key 'D minor'" in sidecar["command"]
    for suffix in (".mid", ".q16.mid", ".wav", ".png"):
        assert (kept_dir / f"{kept['name']}{suffix}").stat().st_size > 0

    again = generate(trained_run, out=tmp_path / "again.mid", seconds=3, num=2, seed=7, temperature=0.9,
                     key=["D minor"], density=[4.0], primer=Path(sidecar["primer"]))

    def pitches_and_starts(path):
        return [(n.pitch, round(n.start, 3)) for n in pretty_midi.PrettyMIDI(str(path)).instruments[0].notes]

    # the sidecar regenerates the take
    assert pitches_and_starts(again[1]) == pitches_and_starts(kept_dir / f"{kept['name']}.mid")

    status, score = raw_get(studio_server, kept["musicxml"])
    assert status == 200 and b"<score-partwise" in score
    assert (kept_dir / f"{kept['name']}.musicxml").read_bytes() == score

    status, job = studio_server.post("/api/mix", {"name": "duo", "tracks": [
        {"source": kept["stem"], "pan": -0.3, "fade_out": 1, "lufs": -20},
        {"source": kept["stem"], "start": 1.5, "pan": 0.3, "gain_db": -6}]})
    assert status == 202
    job = studio_server.wait(job)
    assert job["status"] == "done", job["error"]
    folder = studio_server.session / "mixes" / "duo"
    spec = yaml.safe_load((folder / "mix.yaml").read_text())
    assert [s["source"] for s in spec["stems"]] == [f"../../kept/{kept['stem']}"] * 2
    report = json.loads((folder / "mix.json").read_text())
    assert report["length_s"] == pytest.approx(job["result"]["length_s"]) and (folder / "mix.wav").stat().st_size
    cli = mix(folder / "mix.yaml", out=tmp_path / "cli" / "mix.wav")  # what `composer mix mix.yaml` does
    assert cli["length_s"] == pytest.approx(report["length_s"])
    assert cli["lufs"] == pytest.approx(report["lufs"], abs=0.05)


@pytest.mark.slow
def test_an_audio_run_gives_waveform_takes(studio_server, texture_run):
    status, answer = studio_server.post("/api/generate", {"run": TEXTURE_NAME, "key": "C major"})
    assert status == 400
    assert answer["error"] == f"key does not apply to lstm-vae runs (run '{TEXTURE_NAME}')"  # its family's options
    status, job = studio_server.post("/api/generate", {"run": TEXTURE_NAME, "seconds": 2, "num": 1, "seed": 1})
    job = studio_server.wait(job)
    assert job["status"] == "done", job["error"]
    (take,) = job["result"]["takes"]
    assert set(take["files"]) == {"wav", "plot"}
    status, kept = studio_server.post("/api/keep", {"job": job["id"], "take": 1})
    assert status == 200 and kept["stem"].endswith(".wav") and kept["musicxml"] is None
    assert set(kept["files"]) == {"wav", "png"}


@pytest.mark.slow
@pytest.mark.parametrize("controls, message", [
    ({"texture": RUN_NAME}, f"texture run '{RUN_NAME}' makes MIDI"),
    ({"run": TEXTURE_NAME}, f"run '{TEXTURE_NAME}' makes audio"),
    ({"key": "X major"}, "key 'X major' not understood"),
    ({"run": "gone"}, "unknown run 'gone'"),
    ({"temperature": 9}, "temperature must be within [0.0, 5.0], got 9.0"),
    ({"density": -2}, "density must be within [0.0, 64.0], got -2.0"),
])
def test_bad_radio_controls_are_refused(studio_server, trained_run, texture_run, controls, message):
    status, answer = studio_server.post("/api/radio/controls", controls)
    assert status >= 400 and answer["error"].startswith(message)


def test_info_shows_the_folders_as_typed_from_where_the_studio_started(studio_server, monkeypatch, tmp_path):
    """Issue 28 item 7: the page names the session as the user typed --root, not a resolved temp path."""
    monkeypatch.chdir(studio_server.session.parents[2])
    status, info = studio_server.get("/api/info")
    assert status == 200 and info["session"] == f"{studio_server.session.parents[1].name}/sessions/" \
                                                f"{studio_server.session.name}"
    monkeypatch.chdir(tmp_path)  # started elsewhere: the whole path
    assert studio_server.get("/api/info")[1]["session"] == str(studio_server.session)
