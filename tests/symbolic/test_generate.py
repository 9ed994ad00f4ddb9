"""Training a small Performance RNN on Bach chorales, then generating from its run dir."""

from __future__ import annotations

import json

import numpy as np
import pytest
from note_seq import midi_io

from composer.errors import ComposerError, RunDirError
from composer.generate import generate as generate_from_run  # the entry point that checks the declared ranges
from composer.symbolic import generate
from composer.symbolic.encoding import PerformanceEncoding
from composer.symbolic.sampling import opening_velocities

CONFIG = """
model: performance-rnn
seed: 0
train: {steps: 60, batch_size: 16, learning_rate: 0.01, eval_every: 30, eval_batches: 4, checkpoint_every: 30}
layers: [64]
example_events: 64
example_hop: 32
stretch_variants: 2
controls: [pitch_histogram]
control_dropout: 0.5
"""


@pytest.fixture(scope="module")
def run_dir(bach_corpus, tmp_path_factory, train_preset):
    return train_preset(tmp_path_factory.mktemp("prnn"), CONFIG, bach_corpus)


@pytest.mark.slow
def test_training_lowers_the_loss(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = [h for h in metrics["history"] if h.get("eval_loss") is not None]
    assert len(history) == 2 and history[-1]["eval_loss"] < history[0]["eval_loss"]
    assert metrics["best"]["eval_loss"] < np.log(388) - 0.5  # below a uniform guess
    assert metrics["eval_nll_per_event"] == pytest.approx(metrics["best"]["eval_loss"])


@pytest.mark.slow
def test_generate_writes_midi_for_a_human(run_dir, tmp_path):
    paths = generate(run_dir, out=tmp_path / "piece.mid", seconds=4, seed=3, num=2, key=["D minor", "A minor"],
                     quantize=16, program=48)
    names = sorted(p.name for p in paths)
    assert names == ["piece-1.mid", "piece-1.q16.mid", "piece-2.mid", "piece-2.q16.mid"]
    import pretty_midi
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "piece-1.mid"))
    assert [i.program for i in pm.instruments] == [48] and pm.time_signature_changes
    assert pm.get_end_time() <= 4.2 + 5.0 and len(pm.instruments[0].notes) > 0
    grid = pretty_midi.PrettyMIDI(str(tmp_path / "piece-1.q16.mid"))
    sixteenth = 60 / grid.get_tempo_changes()[1][0] / 4
    starts = np.array([n.start for n in grid.instruments[0].notes]) / sixteenth
    assert np.allclose(starts, np.round(starts), atol=1e-3)


@pytest.mark.slow
def test_same_seed_same_piece_and_primer_kept(run_dir, tmp_path, make_midi):
    first = generate(run_dir, out=tmp_path / "a.mid", seconds=3, seed=7)[0]
    second = generate(run_dir, out=tmp_path / "b.mid", seconds=3, seed=7)[0]
    assert first.read_bytes() == second.read_bytes()
    primer = make_midi(tmp_path / "primer.mid", pitches=(60, 62, 64), note_s=0.5)
    out = generate(run_dir, out=tmp_path / "c.mid", seconds=3, seed=1, primer=primer, top_p=0.9)[0]
    encoding = PerformanceEncoding()
    want = encoding.encode(midi_io.midi_file_to_note_sequence(str(primer)))
    notes = sorted(midi_io.midi_file_to_note_sequence(str(out)).notes, key=lambda n: (n.start_time, n.pitch))
    assert [n.pitch for n in notes[:3]] == [60, 62, 64]
    assert [round(n.start_time, 2) for n in notes[:3]] == [0.0, 0.5, 1.0]
    assert len(want) > 0 and notes[-1].start_time >= 1.0
    beam = generate(run_dir, out=tmp_path / "d.mid", seconds=2, seed=1, beam=3, primer_pitches=[60, 64, 67])[0]
    chord = midi_io.midi_file_to_note_sequence(str(beam)).notes
    assert {n.pitch for n in chord if n.start_time == 0.0} == {60, 64, 67}


@pytest.mark.slow
def test_run_and_option_mismatches_are_clear(run_dir, tmp_path):
    with pytest.raises(RunDirError, match="--density needs a model trained with the 'density' control"):
        generate(run_dir, out=tmp_path / "x.mid", density=[4.0])
    with pytest.raises(ComposerError, match=r"^--top-p must be within \(0.0, 1.0\], got 1.5$"):
        generate_from_run(run_dir, out=tmp_path / "x.mid", top_p=1.5)
    with pytest.raises(RunDirError, match="not a run directory"):
        generate(tmp_path, out=tmp_path / "x.mid")


def test_large_batches_stay_reproducible(run_dir, tmp_path):
    num = 6
    first = generate(run_dir, out=tmp_path / "a.mid", seconds=3, seed=5, num=num, engine="tf")
    second = generate(run_dir, out=tmp_path / "b.mid", seconds=3, seed=5, num=num, engine="tf")
    assert len(first) == num and [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    lengths = [midi_io.midi_file_to_note_sequence(str(p)).total_time for p in first]
    assert all(2.0 <= length <= 3.0 + 5.0 for length in lengths)  # 3 s of material plus released notes
    assert len({p.read_bytes() for p in first}) == num  # every piece draws its own events


def test_unprimed_pieces_open_with_the_corpus_velocity(run_dir, tmp_path):
    """Chorales are all velocity 64; without an opening velocity event notes would decode at 100."""
    meta = json.loads((run_dir / "meta.json").read_text())
    encoding = PerformanceEncoding()
    assert meta["opening_velocities"] == [[encoding.velocity_offset + (64 - 1) // encoding.velocity_bin_size, 1.0]]
    piece = generate(run_dir, out=tmp_path / "v.mid", seconds=3, seed=2)[0]
    notes = sorted(midi_io.midi_file_to_note_sequence(str(piece)).notes, key=lambda n: n.start_time)
    assert notes and notes[0].velocity == 1 + (64 - 1) // encoding.velocity_bin_size * encoding.velocity_bin_size


def test_opening_velocities_are_drawn_per_piece_from_the_corpus_share():
    """A corpus whose pieces each hold one dynamic (Essen: 71% at 80, 29% at 90) gets both, not only the commonest."""
    meta = {"opening_velocities": [[375, 0.7], [378, 0.3]]}
    for seed in range(5):  # a batch holds each velocity within one piece of its share
        drawn = opening_velocities(meta, num=20, seed=seed)
        assert drawn.dtype == np.int32 and 5 <= np.sum(drawn == 378) <= 7 and set(drawn) == {375, 378}
    np.testing.assert_array_equal(opening_velocities(meta, num=20, seed=4), opening_velocities(meta, num=20, seed=4))
    assert len({opening_velocities(meta, num=1, seed=seed)[0] for seed in range(40)}) == 2
    assert opening_velocities({"opening_velocities": []}, num=2, seed=0) is None
    # run dirs from before the distribution was recorded open every piece at their commonest velocity
    np.testing.assert_array_equal(opening_velocities({"opening_velocity_event": 378}, num=3, seed=0), [378] * 3)
    assert opening_velocities({}, num=3, seed=0) is None


def test_generate_opens_each_piece_with_its_own_velocity(run_dir, tmp_path):
    import shutil

    copy = shutil.copytree(run_dir, tmp_path / "run")
    meta = json.loads((copy / "meta.json").read_text())
    (copy / "meta.json").write_text(json.dumps(meta | {"opening_velocities": [[375, 0.5], [378, 0.5]]}))
    paths = generate(copy, out=tmp_path / "p.mid", seconds=2, seed=4, num=12, engine="tf")
    first = [min(midi_io.midi_file_to_note_sequence(str(p)).notes, key=lambda n: n.start_time).velocity for p in paths]
    assert {77, 89} <= set(first)  # velocity events 375 and 378 decode at 77 and 89


@pytest.mark.slow
def test_int8_engine_scores_like_the_float_model(run_dir):
    """The default engine's int8 weights barely move the trained model's likelihood."""
    from composer.symbolic.performance_rnn.lite import PerformanceStep, export_step, nll_per_event
    from composer.symbolic.sampler import sample_events
    from composer.symbolic.sampling import _load_run

    model = _load_run(run_dir).model
    encoding = PerformanceEncoding()
    pieces = sample_events(model, encoding, num=4, seconds=12, seed=0, engine="tf")
    length = min(120, *(len(p) for p in pieces))
    assert length >= 48
    events = np.stack([p[:length] for p in pieces])
    exact = nll_per_event(PerformanceStep(export_step(model, quantize=False)), events)
    int8 = nll_per_event(PerformanceStep(export_step(model)), events)
    import tensorflow as tf
    logits = model({"events": tf.constant(events[:, :-1]), "controls": tf.zeros([4, length - 1, model.control_dim])})
    reference = float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(events[:, 1:], logits)))
    assert exact == pytest.approx(reference, abs=1e-4)
    assert abs(int8 - exact) < 0.02 and exact < np.log(388) - 0.5


def test_beam_search_and_guidance_run_on_both_engines(run_dir, tmp_path):
    for engine in ("tflite", "tf"):
        (beam,) = generate(run_dir, out=tmp_path / f"beam-{engine}.mid", seconds=2, seed=1, beam=2, engine=engine)
        (guided,) = generate(run_dir, out=tmp_path / f"guided-{engine}.mid", seconds=2, seed=1, key=["D minor"],
                             guidance=2.0, engine=engine)
        assert midi_io.midi_file_to_note_sequence(str(beam)).notes
        assert midi_io.midi_file_to_note_sequence(str(guided)).notes
    with pytest.raises(ComposerError, match="unknown sampling engine 'gpu'"):
        generate(run_dir, out=tmp_path / "x.mid", engine="gpu")
    with pytest.raises(ComposerError, match=r"^--guidance must be >= 0.0, got -1.0$"):
        generate_from_run(run_dir, out=tmp_path / "x.mid", guidance=-1.0)


@pytest.mark.slow
def test_key_adherence_of_a_conditioned_run(run_dir, tmp_path):
    from composer.evaluate.adherence import KEYS, measure
    from composer.symbolic.performance_rnn.family import FAMILY
    from composer.train.run import read_config

    result = measure(run_dir, read_config(run_dir, FAMILY), out=tmp_path, seconds=2.0, keys=KEYS[:3])
    assert result["pieces"] == 3 and 0 <= result["key_hit_rate"] <= 1 and -1 <= result["key_correlation"] <= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key-00.mid", "key-01.mid", "key-02.mid"]
