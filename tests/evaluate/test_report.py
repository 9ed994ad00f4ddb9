"""evaluate() end to end on a small synthetic corpus: metrics.json keys, report.md, plots."""

import json

import note_seq
import numpy as np
import pretty_midi
import pytest

from composer.audio_io import write_audio
from composer.errors import ComposerError, CorpusError
from composer.evaluate import report
from composer.symbolic import heldout

SR = 16000  # conftest.PIECE_RATE


def sequence_of(notes):
    seq = note_seq.NoteSequence()
    for start, end, pitch, velocity in notes:
        seq.notes.add(start_time=float(start), end_time=float(end), pitch=int(pitch), velocity=int(velocity))
    seq.total_time = float(notes[:, 1].max())
    return seq


def write_midi(notes, path, *, shift=0):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=0)
    inst.notes = [pretty_midi.Note(int(v), int(p) + shift, float(s), float(e)) for s, e, p, v in notes]
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


class FakeCorpus:
    """The composer.corpus.Corpus contract, in memory: symbolic and audio chunks per split."""

    name = "fake"
    sample_rate = SR

    def __init__(self, notes, audio):
        self._notes, self._audio = notes, audio

    def sequences(self, split):
        return (sequence_of(n) for n in self._notes[split])

    def audio(self, split):
        return iter(self._audio[split])

    def fingerprint(self):
        return "fake-1"

    def chunk_counts(self):
        return {s: {"symbolic": len(self._notes[s]), "audio": len(self._audio[s])} for s in ("train", "eval")}


class PitchEncoding:
    """Stand-in for PerformanceEncoding (a fake corpus has no cache to encode into): one event per note pitch."""

    num_classes = 128


@pytest.fixture
def corpus(monkeypatch, corpus_notes, corpus_audio):
    monkeypatch.setattr(heldout, "PerformanceEncoding", PitchEncoding)
    monkeypatch.setattr(heldout, "encoded_split",
                        lambda corpus, split, enc: [n[:, 2].astype(np.int64) for n in corpus_notes[split]])
    return FakeCorpus(corpus_notes, corpus_audio)


@pytest.fixture
def generated(tmp_path, corpus_notes, corpus_audio):
    folder = tmp_path / "gen"
    folder.mkdir()
    write_midi(corpus_notes["fresh"], folder / "fresh.mid")
    write_midi(corpus_notes["fresh"], folder / "shifted.mid", shift=6)
    write_audio(folder / "fresh.wav", corpus_audio["fresh"], SR)
    write_audio(folder / "silence.wav", np.zeros(4 * SR, np.float32), SR)
    (folder / "notes.txt").write_text("ignored: not MIDI or audio")
    return folder


def test_report_for_generated_midi_and_audio(tmp_path, corpus, generated):
    out = tmp_path / "eval"
    metrics = report.evaluate(corpus=corpus, generated=[generated], out=out)
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert len(metrics["generated"]) == 4
    assert set(metrics["baseline_nll_per_event"]) == {"unigram", "ngram"}
    assert metrics["baseline_nll_per_event"]["ngram"] <= metrics["ngram_nll_by_order"]["3"]
    assert set(metrics["feature_overlap"]) == set(metrics["feature_overlap_ceiling"]) >= {"pitch_class", "velocity"}
    for key in ("silence_ratio", "clipping_ratio", "loop_ratio", "copy_rate", "spectral_frechet"):
        assert np.isfinite(metrics[key])
    assert metrics["collapse_per_file"]["silence.wav"]["silence_ratio"] == 1.0
    assert metrics["collapse_per_file"]["fresh.wav"]["noise_flat_share"] == 0.0
    assert set(metrics["audio_ratios"]) == {"whitened_flatness", "whitened_coherence", "spectral_frechet",
                                            "chroma_clarity", "loudness_distance"}
    assert metrics["spectral_frechet"] == metrics["audio_figures"]["generated"]["spectral_frechet"]
    assert metrics["collapse_per_file"]["fresh.wav"]["silence_ratio"] < 0.1
    assert metrics["collapse_reference"]["copy_rate"] < 0.1
    assert metrics["collapse_reference"]["level_spread_db"] > 0.5  # a played piece breathes
    text = (out / "report.md").read_text()
    assert set(metrics["plots"]) == {"likelihood", "nll_by_position", "features", "spectra", "collapse"}
    for path in metrics["plots"].values():
        assert f"]({path})" in text
        assert (out / path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Kneser-Ney 10-gram" in text and "silence.wav" in text and "From noise to the song" in text
    assert "level_spread_db" in text
    assert text.index("## Summary") < text.index("## Held-out likelihood")   # issue 28: a summary first
    assert "- Silence: 1 of 2 generated files is mostly silent (`silence.wav`: 100% of its frames" in text
    assert "The feature and copying statistics rest on 2 generated files" in text
    assert "The spectral statistics rest on 2 generated files" in text
    assert metrics["feature_pieces"] == {"generated": 2, "eval": len(corpus._notes["eval"]),
                                         "train": len(corpus._notes["train"])}
    assert metrics["feature_stats"]["generated"]["velocity"]["median"] > 0
    assert set(metrics["nll_change_by_position"]) == {f"Kneser-Ney {metrics['ngram_order']}-gram"}


def test_corpus_only_gives_the_baselines(tmp_path, corpus):
    metrics = report.evaluate(corpus=corpus, out=tmp_path / "eval")
    assert metrics["baseline_nll_per_event"]["ngram"] < metrics["baseline_nll_per_event"]["unigram"] + 1.0
    assert "feature_overlap" not in metrics and "spectral_frechet" not in metrics


def test_audio_against_a_corpus_without_audio_is_a_clear_error(tmp_path, corpus, generated):
    corpus._audio = {"train": [], "eval": []}
    with pytest.raises(CorpusError, match="render-audio fake"):
        report.evaluate(corpus=corpus, generated=[generated / "fresh.wav"], out=tmp_path / "eval")


@pytest.mark.parametrize("kwargs, message", [
    ({"generated": ["missing.mid"]}, "missing.mid: no such file"),
    ({"generated": ["notes.txt"]}, "cannot evaluate '.txt' files"),
    ({"corpus": None, "generated": ["fresh.mid"]}, "give --corpus NAME or a run dir"),
])
def test_bad_arguments_are_clear_errors(tmp_path, corpus, generated, kwargs, message):
    kwargs = {"corpus": corpus, **kwargs}
    kwargs["generated"] = [generated / name for name in kwargs["generated"]]
    with pytest.raises(ComposerError, match=message):
        report.evaluate(out=tmp_path / "eval", **kwargs)


TINY_AUDIO_CONFIGS = {
    "lstm-vae": """
model: lstm-vae
frame_size: 512
hop: 256
layers: 1
units: 16
latent_dim: 4
decoder_units: 16
sequence_frames: 16
primer_frames: 4
sample_seconds: 1.0
train: {steps: 4, batch_size: 4, eval_every: 4, eval_batches: 2, checkpoint_every: 4, log_every: 2}
""",
    "samplernn": """
model: samplernn
frame_sizes: [16]
dim: 16
rnn_layers: 1
embed_dim: 8
mlp_dims: [16]
subseq_len: 64
subseqs_per_stretch: 2
sample_seconds: 0.5
train: {steps: 4, batch_size: 4, eval_every: 4, eval_batches: 2, checkpoint_every: 4, log_every: 2}
""",
}


@pytest.mark.slow
@pytest.mark.parametrize("family, likelihood, baseline", [
    ("lstm-vae", "eval_loss", "baseline_eval_loss"),
    ("samplernn", "eval_bits_per_sample", "baseline_bits_per_sample"),
])
def test_report_for_an_audio_run(tmp_path, corpus, family, likelihood, baseline):
    from composer.train.trainer import train

    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_AUDIO_CONFIGS[family])
    run_dir = tmp_path / "run"
    train(family, corpus=corpus, config_path=config, run_dir=run_dir, progress=False)
    metrics = report.evaluate(run_dir, corpus=corpus, out=tmp_path / "eval", num=2, seconds=0.5)
    assert metrics["model"] == family and len(metrics["generated"]) == 2
    assert np.isfinite(metrics[likelihood]) and all(v > 0 for v in metrics[baseline].values())
    assert set(metrics["plots"]) == {"spectra", "collapse"}
    assert {"silence_ratio", "clipping_ratio", "loop_ratio", "copy_rate", "spectral_frechet"} <= set(metrics)
    assert "## Audio" in (tmp_path / "eval" / "report.md").read_text()


TINY_PERFORMANCE_RNN = """
model: performance-rnn
layers: [16]
example_events: 32
example_hop: 16
transpose: 0
stretch_variants: 1
sample_seconds: 1.0
train: {steps: 4, batch_size: 4, eval_every: 4, eval_batches: 2, checkpoint_every: 4, log_every: 2}
"""


@pytest.mark.slow
def test_report_for_a_performance_rnn_run(tmp_path, corpus_notes):
    from composer.corpus import Corpus
    from composer.train.trainer import train

    pieces = corpus_notes["train"] + corpus_notes["eval"]
    paths = [write_midi(notes, tmp_path / f"piece{i}.mid") for i, notes in enumerate(pieces)]
    corpus = Corpus.create("midi", root=tmp_path / "corpora", chunk_s=2.0)   # 4 chunks per piece: both splits
    corpus.import_paths(paths)
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY_PERFORMANCE_RNN)
    train("performance-rnn", corpus=corpus, config_path=config, run_dir=tmp_path / "run", progress=False)
    metrics = report.evaluate(tmp_path / "run", root=tmp_path / "corpora", out=tmp_path / "eval", num=2, seconds=2.0)
    assert metrics["corpus"] == "midi" and len(metrics["generated"]) == 2
    assert metrics["eval_nll_per_event"] > 0
    assert metrics["gain_over_best_baseline_nats"] == pytest.approx(
        min(metrics["baseline_nll_per_event"].values()) - metrics["eval_nll_per_event"])
    assert set(metrics["feature_overlap"]) == set(metrics["feature_overlap_ceiling"])
    assert set(metrics["plots"]) == {"likelihood", "nll_by_position", "features"}
    assert metrics["nll_by_position"]["model"]["0-128"] > 0
    assert set(metrics["nll_change_by_position"]["model"]) == {"128-512", "512-1024", "1024-2048"}
    assert metrics["train_window_events"] == 32
    assert set(metrics["copying"]) == {"generated", "eval (reference)"}
    assert "The model scores" in (tmp_path / "eval" / "report.md").read_text().split("## Held-out")[0]
