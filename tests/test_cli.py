"""The command-line contract: help with examples, exit codes, one-line errors."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from composer.cli import app

COMMANDS = [
    ["corpus", "import"], ["corpus", "builtin"], ["corpus", "render-audio"], ["corpus", "list"],
    ["corpus", "info"], ["corpus", "transcribe"], ["transcribe"], ["train"], ["generate"], ["render"], ["mix"],
    ["plot"], ["evaluate"], ["demo"],
]


@pytest.mark.parametrize("command", [[], ["corpus"], *COMMANDS], ids=lambda c: " ".join(c) or "composer")
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "Example: composer " + (command[:1] or ["corpus"])[0] in result.output
    assert "<bool>" not in result.output  # flags take no value (issue 17 item 16)


def test_seconds_help_shows_each_familys_default():
    import inspect

    from composer.audio.lstm_vae import family as lstm_vae_family
    from composer.audio.samplernn import family as samplernn_family
    from composer.cli import SECONDS_DEFAULTS
    from composer.symbolic import sampling

    defaults = {name: inspect.signature(module.generate).parameters["seconds"].default
                for name, module in [("performance-rnn", sampling), ("lstm-vae", lstm_vae_family),
                                     ("samplernn", samplernn_family)]}
    assert defaults == {"performance-rnn": 30.0, "lstm-vae": 30.0, "samplernn": 10.0}
    assert SECONDS_DEFAULTS == "30; samplernn 10"
    result = CliRunner().invoke(app, ["generate", "--help"], terminal_width=200)
    assert f"[default: {SECONDS_DEFAULTS}]" in " ".join(result.output.split())


def run_cli(*args: str) -> subprocess.CompletedProcess:
    code = "from composer.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def test_user_error_is_one_line_and_exit_1(tmp_path):
    result = run_cli("generate", str(tmp_path / "missing-run"), "--out", str(tmp_path / "x.mid"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing-run'}: not a run directory (no config.yaml; train one with `composer train`)"]


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("--debug", "generate", str(tmp_path / "missing-run"), "--out", str(tmp_path / "x.mid"))
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_usage_error_exits_2():
    assert run_cli("generate").returncode == 2
    assert run_cli("no-such-command").returncode == 2


def test_unknown_model_lists_the_valid_ones(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("model: no-such-model\n")
    result = run_cli("generate", str(run_dir), "--out", str(tmp_path / "x.wav"))
    assert result.returncode == 1
    valid = "performance-rnn, music-transformer, lstm-vae, samplernn"
    assert f"unknown model 'no-such-model' (valid: {valid})" in result.stderr


def test_corpus_builtin_says_what_it_imported_as_corpus_import_does(tmp_path):
    """Items imported, skipped and failed, the corpus and its chunks per split (issue 28 item 8)."""
    argv = ["corpus", "builtin", "bach-chorales", "--corpus", "b", "--root", str(tmp_path), "--limit"]
    first, again = run_cli(*argv, "2"), run_cli(*argv, "3")
    assert first.returncode == again.returncode == 0
    assert first.stdout.splitlines()[-1].startswith(f"2 imported, 0 skipped, 0 errors; corpus 'b' at {tmp_path / 'b'}: "
                                                    "chunks train ")
    assert again.stdout.splitlines()[-1].startswith("1 imported, 2 skipped, 0 errors; corpus 'b'")
    from composer.corpus import Corpus

    counts = Corpus.open("b", root=tmp_path).info()["splits"]
    assert again.stdout.splitlines()[-1].endswith(f"chunks train {counts['train']} / eval {counts['eval']}")
