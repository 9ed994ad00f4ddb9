"""Bad input on every command: one line naming the file or value, exit code 1, no traceback,
nothing written (issue 17). The bad files are made here, fresh, never taken from the repository.

Each table row: argv (``{run}``, ``{tmp}``, ``{root}`` filled in), the exit code, and a substring
of the one-line message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import yaml

from composer.cli import main
from composer.corpus import Corpus
from composer.errors import CorpusError

REPO = Path(__file__).resolve().parents[1]
TINY_PRNN = """
model: performance-rnn
train: {steps: 2, batch_size: 4, eval_every: 2, eval_batches: 1, checkpoint_every: 2}
layers: [16]
example_events: 32
example_hop: 32
stretch_variants: 1
"""


def run_main(argv: list[str], capfd, monkeypatch) -> tuple[int, str]:
    """Run the console entry point in this process: (exit code, stdout + stderr, C libraries' too)."""
    monkeypatch.setattr(sys, "argv", ["composer", *map(str, argv)])
    with pytest.raises(SystemExit) as stopped:
        main()
    captured = capfd.readouterr()
    return stopped.value.code, captured.out + captured.err


def error_line(output: str) -> str:
    """The output must be exactly one 'error: ...' line (besides a progress bar)."""
    lines = [line for line in output.splitlines() if line.strip() and "━" not in line]
    assert "Traceback" not in output and len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def drums_only_midi(path: Path) -> Path:
    pm = pretty_midi.PrettyMIDI()
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes.extend(pretty_midi.Note(100, 36, i * 0.5, i * 0.5 + 0.1) for i in range(8))
    pm.instruments.append(drums)
    pm.write(str(path))
    return path


def zero_note_midi(path: Path) -> Path:
    pretty_midi.PrettyMIDI().write(str(path))
    return path


@pytest.fixture(scope="module")
def bad(tmp_path_factory, bach_corpus, train_preset):
    """A tiny trained Performance RNN run and a folder of fresh bad files."""
    folder = tmp_path_factory.mktemp("bad")
    train_preset(folder, TINY_PRNN, bach_corpus, name="tiny.yaml")
    (folder / "binary.yaml").write_bytes(np.random.default_rng(0).bytes(256) + b"\xff\xfe")
    (folder / "a-file").write_text("not a folder")
    (folder / "empty-dir").mkdir()
    drums_only_midi(folder / "drums.mid")
    zero_note_midi(folder / "silent.mid")
    (folder / "huge.yaml").write_text(yaml.safe_dump({"master": {"length": 1e9}, "stems": [{"source": "silent.mid"}]}))
    (folder / "lost.yaml").write_text(yaml.safe_dump({"stems": [{"source": "generated/piano.mid"}]}))
    (folder / "lr.yaml").write_text(TINY_PRNN.replace("steps: 2,", "steps: 2, learning_rate: 1e-3,"))
    return {"run": folder / "run", "tmp": folder, "root": bach_corpus.path.parent, "corpus": bach_corpus}


def fill(argv: list[str], bad: dict) -> list[str]:
    return [arg.format(run=bad["run"], tmp=bad["tmp"], root=bad["root"], repo=REPO) for arg in argv]


GENERATE = [  # issue items 3, 4, 6, 9
    (["--seconds", "0"], "--seconds must be within (0, 3600] for this model (join longer pieces with composer mix), "
                         "got 0.0"),
    (["--seconds", "nan"], "--seconds must be within (0, 3600] for this model (join longer pieces with composer mix), "
                           "got nan (not a number)"),
    (["--temperature", "-1"], "--temperature must be within [0.0, 5.0], got -1.0"),
    (["--temperature", "nan"], "--temperature must be within [0.0, 5.0], got nan (not a number)"),
    (["--temperature", "9"], "--temperature must be within [0.0, 5.0], got 9.0"),
    (["--num", "0"], "--num must be within 1..64, got 0"),
    (["--top-p", "0"], "--top-p must be within (0.0, 1.0], got 0.0"),
    (["--seconds", "1e9"], "--seconds must be within (0, 3600] for this model"),
    (["--num", "100000"], "--num must be within 1..64"),
    (["--quantize", "7"], "quantize grid must be 1, 2 or a multiple of 4"),
    (["--density", "-3"], "--density must be within [0.0, 64.0], got -3.0"),
    (["--density", "4,1e6"], "--density must be within [0.0, 64.0], got 1000000.0"),
    (["--primer", "{tmp}/drums.mid"], "drums.mid: only drum notes; a primer needs pitched notes"),
    (["--primer", "{tmp}/silent.mid"], "silent.mid: no notes; a primer needs pitched notes"),
    (["--guidance", "2"], "--guidance needs a model trained with controls and control_dropout > 0; "),
    (["--seed", "-1"], "--seed must be within 0..2147483647, got -1"),
]


@pytest.mark.parametrize("options, message", GENERATE, ids=[" ".join(row[0]) for row in GENERATE])
def test_generate_bad_values(bad, capfd, monkeypatch, options, message):
    out = bad["tmp"] / "gen" / "piece.mid"
    code, output = run_main(fill(["generate", "{run}", "--out", str(out), *options], bad), capfd, monkeypatch)
    assert code == 1 and message in error_line(output)
    assert not out.parent.exists()  # refused before anything was written


GENERATE_OUT = [  # issue items 4 and 9: the wrong kind of --out
    ("{tmp}", "{tmp}: is a folder; --out takes a file name"),
    ("{tmp}/p.wav", "{tmp}/p.wav: performance-rnn writes MIDI; give a .mid file"),
    ("{tmp}/a-file/p.mid", "{tmp}/a-file: is a file, so"),
]


@pytest.mark.parametrize("out, message", GENERATE_OUT, ids=[row[0] for row in GENERATE_OUT])
def test_generate_bad_out(bad, capfd, monkeypatch, out, message):
    code, output = run_main(fill(["generate", "{run}", "--out", out], bad), capfd, monkeypatch)
    assert code == 1 and fill([message], bad)[0] in error_line(output)
    assert not (bad["tmp"] / "p.wav").exists()


AUDIO_GENERATE = [  # refused from config.yaml alone, before the checkpoint is looked for
    (["--out", "{tmp}/g.wav", "--seconds", "3000"], "--seconds must be within (0, 600] for this model"),
    (["--out", "{tmp}/g.mid"], "g.mid: cannot write '.mid' audio (use one of .wav, .flac, .ogg, .aiff)"),
]


@pytest.mark.parametrize("options, message", AUDIO_GENERATE, ids=["seconds", "mid"])
def test_audio_models_refuse_before_loading_anything(tmp_path, capfd, monkeypatch, options, message):
    run = tmp_path / "srnn"
    run.mkdir()
    (run / "config.yaml").write_text("model: samplernn\n")
    argv = ["generate", run, *[arg.format(tmp=tmp_path) for arg in options]]
    code, output = run_main(argv, capfd, monkeypatch)
    assert code == 1 and message in error_line(output)


WRITERS = [  # issue item 4: render, plot and mix write through one atomic writer that checks the path
    (["render", "{tmp}/scale.mid", "--out", "{tmp}"], "{tmp}: cannot write '.' audio"),
    (["plot", "{tmp}/scale.mid", "--out", "{tmp}/empty-dir"], "{tmp}/empty-dir: is a folder; give a file name"),
    (["render", "{tmp}/scale.mid", "--out", "{tmp}/a-file/x.wav"], "{tmp}/a-file: is a file, so"),
    (["plot", "{tmp}/scale.mid", "--out", "{tmp}/a-file/x.png"], "{tmp}/a-file: is a file, so"),
]


@pytest.mark.parametrize("argv, message", WRITERS, ids=[" ".join(row[0][::2]) for row in WRITERS])
def test_writers_refuse_a_folder_or_a_path_under_a_file(bad, capfd, monkeypatch, make_midi, argv, message):
    make_midi(bad["tmp"] / "scale.mid")
    code, output = run_main(fill(argv, bad), capfd, monkeypatch)
    assert code == 1 and fill([message], bad)[0] in error_line(output)
    assert (bad["tmp"] / "a-file").read_text() == "not a folder"


TRAIN = [  # issue items 4, 6, 8
    (["--out", "{tmp}/a-file"], "{tmp}/a-file: is a file, not a folder"),
    (["--config", "{tmp}/binary.yaml"], "binary.yaml: not a text file (a config is YAML)"),
    (["--config", "{repo}/configs/lstm_vae/tiny.yaml"],
     "tiny.yaml: model is 'lstm-vae', but this trains 'performance-rnn'"),
    (["--steps", "0"], "Invalid value for '--steps'"),
    (["--set", "train.stepz=5"], "--set 'train.stepz=5': unknown key 'train.stepz'"),  # issue 28 item 8
    (["--minutes", "0"], "--minutes must be within (0, 43200], got 0.0"),
    (["--minutes", "-1"], "--minutes must be within (0, 43200], got -1.0"),
    (["--minutes", "nan"], "--minutes must be within (0, 43200], got nan (not a number)"),
    (["--minutes", "1e9"], "--minutes must be within (0, 43200], got 1000000000.0"),
    (["--minutes", "soon"], "Invalid value for '--minutes'"),
    (["--set", "train.minutes=0"], "--set 'train.minutes=0': train.minutes must be within (0, 43200], got 0.0"),
    (["--set", "train.minutes=1e9"],
     "--set 'train.minutes=1e9': train.minutes must be within (0, 43200], got 1000000000.0"),
]


@pytest.mark.parametrize("options, message", TRAIN, ids=[" ".join(row[0]) for row in TRAIN])
def test_train_bad_inputs(bad, capfd, monkeypatch, options, message):
    argv = ["train", "performance-rnn", "--corpus", "bach", "--root", "{root}", "--config", "{tmp}/tiny.yaml",
            "--out", "{tmp}/new-run", *options]
    code, output = run_main(fill(argv, bad), capfd, monkeypatch)
    assert code == 1 and fill([message], bad)[0] in error_line(output)
    assert not (bad["tmp"] / "new-run").exists()
    assert (bad["tmp"] / "a-file").read_text() == "not a folder"


CORPUS_IMPORT = [  # issue item 6
    (["{tmp}/missing-folder"], "{tmp}/missing-folder: no such file or folder"),
    (["{tmp}/empty-dir"], "{tmp}/empty-dir: no MIDI, MusicXML, ABC or audio files to import"),
    (["{tmp}/drums.mid", "--jobs", "0"], "Invalid value for '--jobs'"),
]


@pytest.mark.parametrize("sources, message", CORPUS_IMPORT, ids=[" ".join(row[0]) for row in CORPUS_IMPORT])
def test_corpus_import_bad_sources(bad, tmp_path, capfd, monkeypatch, sources, message):
    argv = ["corpus", "import", *sources, "--corpus", "new", "--root", str(tmp_path)]
    code, output = run_main(fill(argv, bad), capfd, monkeypatch)
    assert code == 1 and fill([message], bad)[0] in error_line(output)
    assert not (tmp_path / "new").exists()  # no empty corpus left behind


MIX = [  # issue items 3, 4, 11
    ("binary.yaml", "binary.yaml: not a text file (a mix spec is YAML)"),
    ("huge.yaml", "huge.yaml: master: length must be a number > 0.0 and <= 3600.0, got 1000000000.0"),
    ("lost.yaml", "lost.yaml: stem 1 (generated/piano.mid): file not found: {tmp}/generated/piano.mid"),
]


@pytest.mark.parametrize("spec, message", MIX, ids=[row[0] for row in MIX])
def test_mix_bad_specs(bad, capfd, monkeypatch, spec, message):
    out = bad["tmp"] / "mixed" / "mix.wav"
    code, output = run_main(["mix", bad["tmp"] / spec, "--out", out], capfd, monkeypatch)
    assert code == 1 and fill([message], bad)[0] in error_line(output)
    assert not out.parent.exists()


def test_usage_errors_still_exit_2(bad, capfd, monkeypatch):
    code, output = run_main(["generate", bad["run"]], capfd, monkeypatch)
    assert code == 2 and "Missing option '--out'" in output and "Traceback" not in output


def test_interrupted_training_exits_130(bad, capfd, monkeypatch):
    import composer.train.trainer as trainer

    monkeypatch.setattr(trainer, "train", lambda *args, **kwargs: {"interrupted": True, "step": 3})
    argv = ["train", "performance-rnn", "--corpus", "bach", "--root", "{root}", "--config", "{tmp}/tiny.yaml",
            "--out", "{tmp}/stopped"]
    code, output = run_main(fill(argv, bad), capfd, monkeypatch)
    assert code == 130 and "interrupted at step 3; checkpoint saved" in output


def test_failed_start_does_not_block_its_rerun(bad, tmp_path, capfd, monkeypatch, make_wav):
    """Issue item 5: a corpus without symbolic chunks fails at prepare; the same command, once the
    corpus is fixed, must start (not say 'run dir is not empty')."""
    argv = ["corpus", "import", make_wav(tmp_path / "song.wav"), "--corpus", "audio", "--root", tmp_path / "c"]
    assert run_main(argv, capfd, monkeypatch)[0] == 0
    train = ["train", "performance-rnn", "--corpus", "audio", "--root", tmp_path / "c", "--config",
             bad["tmp"] / "tiny.yaml", "--out", tmp_path / "run"]
    code, output = run_main(train, capfd, monkeypatch)
    assert code == 1 and "has no symbolic training chunks" in error_line(output)
    assert not any((tmp_path / "run").iterdir())
    from composer.train.trainer import _has_content

    assert not _has_content(tmp_path / "run")


def test_learning_rate_written_1e_3_is_a_float(bad):
    from composer.config import load
    from composer.symbolic.performance_rnn.family import PerformanceRNNConfig

    assert load(bad["tmp"] / "lr.yaml", PerformanceRNNConfig).train.learning_rate == 0.001


def test_primer_tempo_meter_and_program_are_kept(bad, tmp_path):
    """Issue item 14: a 3/4 primer at 120 bpm on a 16th grid, violin: the output keeps all three,
    and the grid copy puts every primer note back on its 16th grid."""
    from composer.symbolic import generate

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0.0))
    violin = pretty_midi.Instrument(program=40)
    violin.notes.extend(pretty_midi.Note(80, 60 + i % 12, i * 0.125, i * 0.125 + 0.1) for i in range(24))
    pm.instruments.append(violin)
    pm.write(str(tmp_path / "primer.mid"))
    generate(bad["run"], out=tmp_path / "p.mid", primer=tmp_path / "primer.mid", quantize=16, seconds=2, seed=1)
    for name in ("p.mid", "p.q16.mid"):
        written = pretty_midi.PrettyMIDI(str(tmp_path / name))
        assert list(written.get_tempo_changes()[1]) == [120.0]
        assert [(ts.numerator, ts.denominator) for ts in written.time_signature_changes] == [(3, 4)]
        assert [inst.program for inst in written.instruments] == [40]
    starts = np.array([n.start for n in pretty_midi.PrettyMIDI(str(tmp_path / "p.q16.mid")).instruments[0].notes])
    primer_starts = starts[starts < 24 * 0.125 - 1e-6]
    assert len(primer_starts) >= 24 and np.allclose(primer_starts / 0.125, np.round(primer_starts / 0.125))


def test_unreadable_file_does_not_stop_the_import(tmp_path, make_midi, monkeypatch):
    """Issue item 1. Tests may run as root, who reads any file, so the permission error is injected."""
    from composer.corpus import ingest

    locked = make_midi(tmp_path / "src" / "locked.mid", pitches=(50, 52))
    make_midi(tmp_path / "src" / "open.mid")
    real_sha = ingest.file_sha

    def file_sha(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_sha(path)

    monkeypatch.setattr(ingest, "file_sha", file_sha)
    corpus = Corpus.create("c", root=tmp_path / "root")
    summary = corpus.import_paths([tmp_path / "src"], jobs=2)
    assert summary.imported == 1
    assert summary.errors == [{"source": str(locked), "reason": "cannot read the file (Permission denied)"}]


def test_failed_file_is_retried_and_a_fixed_file_clears_its_error(tmp_path, make_midi):
    """Issue item 7: --strict sees a known-bad file again; once fixed, corpus info drops its error."""
    path = tmp_path / "song.mid"
    path.write_bytes(b"MThd broken")
    corpus = Corpus.create("c", root=tmp_path / "root")
    assert len(corpus.import_paths([path]).errors) == 1
    with pytest.raises(CorpusError, match="1 import errors"):
        corpus.import_paths([path], strict=True)
    make_midi(path)
    summary = corpus.import_paths([path], strict=True)
    assert (summary.imported, summary.errors, corpus.errors()) == (1, [], [])


SLOW_TASK = """
import time
from composer.corpus.importers import run_task

def slow(task):
    time.sleep(2)
    return run_task(task)
"""
SLOW_IMPORT = """
import sys
import composer.corpus.ingest as ingest
import slowtask
ingest.run_task = slowtask.slow
from composer.cli import main
sys.argv = ["composer", *sys.argv[1:]]
main()
"""


def _ctrl_c_as_in_a_terminal() -> None:
    """The child starts with Ctrl-C at its default, as a shell starts a command: an ignored SIGINT
    left in this test process by an earlier test would be inherited through exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_every_import_worker(tmp_path, make_midi):
    """Issue item 2: SIGINT to the whole process group (as a terminal sends it) ends a --jobs 2 import
    within seconds, with exit code 130 and every committed item complete."""
    sources = [make_midi(tmp_path / "src" / f"{i:02d}.mid", pitches=(40 + i, 52)) for i in range(20)]
    argv = [sys.executable, "-c", SLOW_IMPORT, "corpus", "import", str(tmp_path / "src"), "--corpus", "c",
            "--root", str(tmp_path / "root"), "--jobs", "2"]
    (tmp_path / "slowtask.py").write_text(SLOW_TASK)  # workers unpickle the task function by module name
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}"}
    inherited = signal.getsignal(signal.SIGINT)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 60
    while not _stored_items(tmp_path / "root") and time.monotonic() < deadline:  # workers are busy now
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - sent < 5 and process.returncode == 130, (process.returncode, inherited, stderr)
    assert "Traceback" not in stderr
    corpus = Corpus.open("c", root=tmp_path / "root")
    done = corpus.items()
    assert 0 < len(done) < len(sources) and all(corpus.item_path(row).is_file() for row in done)
    assert corpus.import_paths([tmp_path / "src"]).imported == len(sources) - len(done)


def _stored_items(root: Path) -> int:
    """Items committed so far, read without opening the corpus (it may be half created)."""
    manifest = root / "c" / "manifest.sqlite"
    try:
        with contextlib.closing(sqlite3.connect(manifest)) as conn:
            return conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    except sqlite3.Error:
        return 0


def _ogg_cut_short(path: Path, make_midi) -> Path:
    t = np.arange(48 * 16000) / 16000
    sf.write(str(path), 0.3 * np.sin(2 * np.pi * 220 * t), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def _midi_cut_short(path: Path, make_midi) -> Path:
    data = make_midi(path, repeats=4).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


IMPORT_FILES = [  # issue items 8 and 9: each bad file beside a good one; the import goes on
    (lambda p, _: (p.write_bytes(b""), p)[1], "empty.mid", "empty.mid: empty file (0 bytes)"),
    (_midi_cut_short, "cut.mid", "cut.mid: not a readable MIDI file: truncated or corrupt (the file ends early)"),
    (lambda p, _: (p.write_bytes(np.random.default_rng(1).bytes(3000)), p)[1], "random.mp3",
     "random.mp3: cannot read audio (not a mp3 audio file, or a corrupt one)"),
    (lambda p, _: drums_only_midi(p), "drums.mid",
     "drums.mid: only drum notes: nothing the symbolic models learn from"),
    (_ogg_cut_short, "song.ogg",
     "song.ogg: truncated or corrupt: decoded 11.0 s of an unknown length (the file ends early)"),
]


@pytest.mark.parametrize("maker, name, message", IMPORT_FILES, ids=[row[1] for row in IMPORT_FILES])
def test_corpus_import_names_what_is_wrong_with_a_file(tmp_path, capfd, monkeypatch, make_midi, maker, name,
                                                       message):
    (tmp_path / "src").mkdir()
    bad_file = maker(tmp_path / "src" / name, make_midi)
    make_midi(tmp_path / "src" / "good.mid")
    argv = ["corpus", "import", tmp_path / "src", "--corpus", "c", "--root", tmp_path / "root"]
    code, output = run_main(argv, capfd, monkeypatch)
    assert code == 0 and "1 imported, 0 skipped, 1 errors" in output
    assert f"  {bad_file}: {message.split(': ', 1)[1]}" in output
    assert "Traceback" not in output and "ffmpeg" not in output and "Note:" not in output
    code, output = run_main([*argv, "--strict"], capfd, monkeypatch)  # known-bad files are tried again
    assert code == 1 and message.split(": ", 1)[1] in error_line(output)


def test_render_refuses_a_midi_without_notes(bad, capfd, monkeypatch):
    out = bad["tmp"] / "rendered" / "silent.wav"
    code, output = run_main(["render", bad["tmp"] / "silent.mid", "--out", out], capfd, monkeypatch)
    assert code == 1 and error_line(output) == f"error: {bad['tmp'] / 'silent.mid'}: no notes to render"
    assert not out.parent.exists()


def test_bad_soundfont_is_one_line_without_glib_noise(bad, capfd, monkeypatch, make_midi):
    soundfont = bad["tmp"] / "broken.sf2"
    soundfont.write_bytes(b"RIFF\x10\x00\x00\x00sfbkLIST" + bytes(64))
    midi = make_midi(bad["tmp"] / "scale.mid")
    argv = ["render", midi, "--out", bad["tmp"] / "x.wav", "--soundfont", soundfont]
    code, output = run_main(argv, capfd, monkeypatch)
    assert code == 1 and "fluidsynth cannot load this soundfont" in error_line(output)  # no CRITICAL line
