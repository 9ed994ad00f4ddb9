"""`composer evaluate` on a real (audio) corpus through the CLI: exit codes, --json, files."""

import json

from typer.testing import CliRunner

from composer.audio_io import write_audio
from composer.cli import app
from composer.corpus import Corpus

SR = 16000  # conftest.PIECE_RATE


def test_cli_evaluate_generated_audio_against_a_corpus(tmp_path, corpus_audio):
    root, songs = tmp_path / "corpora", tmp_path / "songs"
    clips = corpus_audio["train"] + corpus_audio["eval"]
    paths = [write_audio(songs / f"song{i}.wav", clip, SR) for i, clip in enumerate(clips)]
    corpus = Corpus.create("tiny", root=root, sample_rate=SR, chunk_s=2.0)   # 4 chunks per song: both splits
    corpus.import_paths(paths)
    generated = write_audio(tmp_path / "gen.wav", corpus_audio["fresh"], SR)
    out = tmp_path / "eval"
    result = CliRunner().invoke(app, ["evaluate", "--corpus", "tiny", "--root", str(root),
                                      "--generated", str(generated), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics == json.loads((out / "metrics.json").read_text())
    assert metrics["corpus"] == "tiny" and metrics["copy_rate"] < 0.1 and metrics["silence_ratio"] < 0.1
    assert (out / "report.md").is_file() and (out / metrics["plots"]["collapse"]).is_file()

    missing = CliRunner().invoke(app, ["evaluate", "--corpus", "nope", "--root", str(root), "--out", str(out)])
    assert missing.exit_code == 1 and "no corpus 'nope'" in str(missing.exception)  # main() prints it
