"""The command-line contract: help with examples, exit codes, one-line errors."""

import subprocess
import sys
from pathlib import Path

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


def test_generate_help_lists_each_option_with_its_families_and_defaults():
    """The flags come from the families' declarations (composer.options), labelled with who takes them."""
    help_text = " ".join(CliRunner().invoke(app, ["generate", "--help"], terminal_width=200).output.split())
    assert "[default: 30; samplernn 10]" in help_text
    assert "--top-p <float> performance-rnn, music-transformer: nucleus sampling. [within (0.0, 1.0]]" in help_text
    assert "--num <int> Generate N files in one batched pass: OUT-1 ... OUT-N (one file: OUT). " \
           "[default: 1] [within 1..64]" in help_text
    assert "--keep-primer lstm-vae: keep the warm-up audio at the start." in help_text
    assert ("--primer <path> performance-rnn, music-transformer: MIDI file to continue. lstm-vae, samplernn: "
            "audio file to continue.") in help_text
    assert "[default: tflite; music-transformer tf]" in help_text


def test_the_cli_names_no_familys_option():
    source = Path(__file__).resolve().parents[1].joinpath("composer", "cli.py").read_text()
    for flag in ("--top-p", "--keep-primer", "--peak-db", "--engine", "--density", "--beam", "--quantize"):
        assert flag not in source


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
