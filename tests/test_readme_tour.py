"""The README's tour runs as written (issue 17 item 13), so the README cannot drift from the code.

Every command of every ```sh block in README.md runs, in order, in a temporary folder, on tiny
settings. ``composer`` commands run in this process (one TensorFlow start-up); the multi-worker
one in its own process, as TensorFlow needs. What a test machine cannot hold, or would wait minutes
for, is changed by the table below, each with its reason; any other change is a failure.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from composer.cli import main

REPO = Path(__file__).resolve().parents[1]

# (pattern in a README command, replacement, why)
SUBSTITUTIONS = [
    (r"^make (demo|test)$", r"make -n \1", "the demo and the suite have tests of their own; -n checks the targets"),
    (r"(builtin bach-chorales --corpus bach-chorales)$", r"\1 --limit 6", "6 of the 408 chorales"),
    (r"--limit 24", "--limit 3", "3 chorales rendered to audio, not 24"),
    (r"--steps 1200", "--steps 4", "resume runs 2 more steps, not 600"),
    (r"^(composer train (?!.*--steps).*)$", r"\1 --steps 2", "2 training steps, not the preset's"),
    (r"--seconds (\d+)", "--seconds 1", "1 s of new material per file"),
    (r"^(composer generate (?!.*--seconds).*)$", r"\1 --seconds 1", "1 s, not the default 30"),
    (r"--corpus NAME", "--corpus bach-chorales-audio", "the README's placeholder for a corpus"),
    (r"configs/samplernn/large\.yaml", "configs/samplernn/tiny.yaml", "the GPU preset is too big for a CPU test"),
]
# essen-folk: only its smallest tunebook is imported (teste.abc, 8 tunes; the first holds hundreds).
# ~/midi/einaudi and ~/songs/*.mp3: $HOME is the test folder, holding two MIDI files and an mp3.
# my_sketch.mid: written in the test folder, as a user's sketch would be.
# TF_CONFIG: one local worker instead of host1 and host2.


def readme_commands() -> list[str]:
    """The lines of the README's sh blocks (a trailing '#' comment dropped)."""
    blocks = re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def substituted(command: str) -> str:
    words = shlex.split(command, comments=True)
    line = shlex.join(words)
    for pattern, replacement, _ in SUBSTITUTIONS:
        line = re.sub(pattern, replacement, line)
    return line


def expand(words: list[str]) -> list[str]:
    """What the shell would do with ~ and globs (a glob matching nothing stays as written)."""
    expanded = []
    for word in map(os.path.expanduser, words):
        expanded.extend(sorted(glob.glob(word)) or [word])
    return expanded


def setup_user_files(home: Path, make_midi) -> None:
    for index in range(2):
        make_midi(home / "midi" / "einaudi" / f"piece{index}.mid", pitches=(57 + index, 60, 64, 69), repeats=4)
    t = np.arange(3 * 16000) / 16000
    (home / "songs").mkdir()
    sf.write(str(home / "songs" / "song.mp3"), 0.3 * np.sin(2 * np.pi * 220 * t), 16000, format="MP3")
    make_midi(home / "my_sketch.mid", pitches=(62, 65, 69, 74), repeats=2)
    shutil.copytree(REPO / "examples", home / "examples")  # the tour runs in the repository's folder:
    (home / "configs").symlink_to(REPO / "configs")        # its presets and examples are at hand


def one_local_worker() -> str:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    return json.dumps({"cluster": {"worker": [f"localhost:{port}"]}, "task": {"type": "worker", "index": 0}})


def assert_studio_serves(words: list[str], cwd: Path) -> None:
    """Run the README's studio command on a free port until its page answers, then stop it."""
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    words = [w if w != "8000" else str(port) for w in words]
    server = subprocess.Popen([sys.executable, "-c", "from composer.cli import main; main()", *words[1:]],
                              cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    assert page.status == 200 and b"<html" in page.read().lower()
                return
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()[-2000:]
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_readme_tour_runs_as_written(tmp_path, monkeypatch, capfd, make_midi):
    from composer.corpus import builtin

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("COMPOSER_CORPUS_ROOT", raising=False)
    setup_user_files(tmp_path, make_midi)
    all_files = builtin.Recipe.files

    def smallest_essen_tunebook(recipe: builtin.Recipe) -> list[Path]:
        files = all_files(recipe)
        return sorted(files, key=lambda p: p.stat().st_size)[:1] if recipe.name == "essen-folk" else files

    monkeypatch.setattr(builtin.Recipe, "files", smallest_essen_tunebook)
    commands = readme_commands()
    assert len(commands) >= 20
    for command in commands:
        line = substituted(command)
        words = expand(shlex.split(line))
        if words[0] == "export":
            name, _ = words[1].split("=", 1)
            monkeypatch.setenv(name, one_local_worker())
            continue
        if words[0] == "make":
            result = subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, f"{command}\n{result.stderr}"
            continue
        assert words[0] == "composer", command
        if words[1] == "studio":  # a server: start it, fetch its page, stop it
            assert_studio_serves(words, tmp_path)
            continue
        if "multi-worker" in words:  # a strategy is set up once per process, before any other TensorFlow work
            result = subprocess.run([sys.executable, "-c", "from composer.cli import main; main()", *words[1:]],
                                    capture_output=True, text=True, timeout=300,
                                    env={**os.environ, "PYTHONPATH": str(REPO)})
            assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
            continue
        monkeypatch.setattr(sys, "argv", words)
        with pytest.raises(SystemExit) as stopped:
            main()
        output = capfd.readouterr()
        assert stopped.value.code == 0, f"{command}\n-> {line}\n{output.out}{output.err}"
    for made in ("out/piece-1.mid", "out/piece-4.mid", "out/sketch.q16.mid", "out/sketch.musicxml", "out/dminor.mid",
                 "out/texture.wav", "out/grain-4.wav", "out/piece.wav", "out/mix.wav", "out/mix.json", "out/piece.png"):
        assert (tmp_path / made).is_file(), made
