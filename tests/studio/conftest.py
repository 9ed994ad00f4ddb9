"""A real studio server on a free port of 127.0.0.1, and one tiny Performance RNN run for it to play.

The server (uvicorn in a thread of the test process) starts once per session with an empty runs
folder; ``trained_run`` trains the tiny conditioned preset for 30 steps into it on first use, so
tests that need no model never wait for training.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RUN_NAME = "prnn"


@dataclass
class Server:
    url: str
    root: Path
    runs: Path
    app: object

    @property
    def session(self) -> Path:
        return self.app.state.studio.workspace.session

    def request(self, method: str, path: str, body: dict | bytes | None = None,
                headers: dict | None = None) -> tuple[int, dict]:
        """(status, JSON body) of one request; errors are returned, not raised."""
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = dict(headers or {}, **({"Content-Type": "application/json"} if isinstance(body, dict) else {}))
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def get(self, path: str) -> tuple[int, dict]:
        return self.request("GET", path)

    def post(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        return self.request("POST", path, body if body is not None else {})

    def wait(self, job: dict, timeout_s: float = 120) -> dict:
        """Poll a job until it is done or failed."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status, job = self.get(f"/api/jobs/{job['id']}")
            assert status == 200
            if job["status"] in ("done", "error"):
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job['id']} still {job['status']} after {timeout_s} s")


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory):
    import uvicorn

    from composer.studio.server import create_app

    base = tmp_path_factory.mktemp("studio")
    root, runs = base / "studio", base / "runs"
    runs.mkdir()
    app = create_app(root, runs)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the studio server did not start"
    yield Server(f"http://127.0.0.1:{sock.getsockname()[1]}", root, runs, app)
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="session")
def trained_run(studio_server, bach_corpus) -> Path:
    """`composer train performance-rnn --config configs/performance_rnn/tiny_conditioned.yaml --steps 30`,
    into the server's runs folder (conditioned, so key and density apply)."""
    from composer.train.trainer import train

    run_dir = studio_server.runs / RUN_NAME
    train("performance-rnn", corpus=bach_corpus, config_path=REPO / "configs/performance_rnn/tiny_conditioned.yaml",
          run_dir=run_dir, steps=30, progress=False)
    return run_dir


TEXTURE_NAME = "texture"
TEXTURE_RATE = 8000


class ToneCorpus:
    """The part of composer.corpus.Corpus the LSTM+VAE reads: a few seconds of synthesized drones."""

    name, sample_rate = "drones", TEXTURE_RATE

    def __init__(self) -> None:
        t = np.arange(6 * TEXTURE_RATE) / TEXTURE_RATE

        def drone(f0: float) -> np.ndarray:
            return (0.2 * np.sin(2 * np.pi * f0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)

        self._chunks = {"train": [drone(220.0), drone(277.2)], "eval": [drone(246.9)]}

    def audio(self, split):
        yield from self._chunks[split]

    def chunk_counts(self):
        return {split: {"symbolic": 0, "audio": len(chunks)} for split, chunks in self._chunks.items()}

    def fingerprint(self):
        return "drones-v1"


@pytest.fixture(scope="session")
def texture_run(studio_server, tmp_path_factory) -> Path:
    """A tiny LSTM+VAE (20 steps on synthesized drones) in the server's runs folder: the radio's texture."""
    from composer.train.trainer import train

    config = yaml.safe_load((REPO / "configs/lstm_vae/tiny.yaml").read_text())
    config["train"].update(eval_every=20, eval_batches=2, checkpoint_every=20)
    path = tmp_path_factory.mktemp("texture") / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    run_dir = studio_server.runs / TEXTURE_NAME
    train("lstm-vae", corpus=ToneCorpus(), config_path=path, run_dir=run_dir, steps=20, progress=False)
    return run_dir
