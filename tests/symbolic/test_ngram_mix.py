"""The neural + n-gram mixture (composer.symbolic.ngram_mix) and the n-gram stepped per row (ngram_state)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.special
import tensorflow as tf

from composer.errors import ConfigError, RunDirError
from composer.evaluate.markdown import render_report
from composer.measures.ngram import KneserNey
from composer.symbolic import generate, heldout, ngram_mix
from composer.symbolic.controls import control_dim, user_controls
from composer.symbolic.engines import engine_for
from composer.symbolic.music_transformer.family import FAMILY as MT
from composer.symbolic.music_transformer.family import MusicTransformerConfig
from composer.symbolic.ngram_state import NgramState
from composer.symbolic.ngram_tf import MixedModel
from composer.symbolic.performance_rnn.family import FAMILY, PerformanceRNNConfig
from composer.symbolic.sampler import sample_events
from composer.train.run import load_run

V = 388


def phrases(rng, count, *, vocab=V):
    """Event arrays built from a few repeated motifs plus noise: something an n-gram can learn."""
    motifs = [rng.integers(0, vocab - 32, 6) for _ in range(4)]
    return [np.concatenate([motifs[i] if rng.random() < 0.8 else rng.integers(0, vocab, 6)
                            for i in rng.integers(0, 4, rng.integers(4, 30))]).astype(np.int32) for _ in range(count)]


@pytest.fixture(scope="module")
def ngram():
    return KneserNey(5, vocab_size=V).fit(phrases(np.random.default_rng(0), 60))


@pytest.mark.parametrize("order", [1, 2, 3, 7])
def test_stepped_state_gives_the_ngram_distribution_of_every_prefix(order):
    rng = np.random.default_rng(order)
    model = KneserNey(order, vocab_size=40).fit(phrases(rng, 30, vocab=40))
    state = NgramState(model)
    sequences = phrases(rng, 3, vocab=40)                       # three rows stepped together
    context = state.initial(3)
    lengths = [model.log_probs_and_context(sequence)[1] for sequence in sequences]
    for i in range(min(map(len, sequences))):
        probs = state.probabilities(context)
        assert probs.shape == (3, 40) and np.allclose(probs.sum(axis=1), 1.0)
        for row, sequence in enumerate(sequences):
            np.testing.assert_allclose(probs[row], model.probabilities(sequence[:i]), atol=1e-12)
        np.testing.assert_array_equal(state.context_length(context), [length[i] for length in lengths])
        inside = (context >= state.first_node[:order]) & (context < state.first_node[1:order + 1])
        assert (inside | (context == state.missing)).all()     # column k holds a k-gram node
        context = state.advance(context, np.array([s[i] for s in sequences], np.int64))
    assert all(length.max() <= order - 1 for length in lengths)
    assert order == 1 or max(length.max() for length in lengths) >= 1


def test_context_length_counts_the_remembered_events():
    model = KneserNey(4, vocab_size=10).fit([[1, 2, 3, 4, 5]])
    logp, length = model.log_probs_and_context([1, 2, 3, 9, 1, 2])
    np.testing.assert_allclose(logp, model.log_probs([1, 2, 3, 9, 1, 2]))
    # the start (begin tokens) was seen, and so were 1, (1 2), (1 2 3); 9 was never seen: after it only the
    # empty context, then the seen 1, (1 2) again
    np.testing.assert_array_equal(length, [3, 3, 3, 3, 0, 1])


def test_mixture_sums_to_one_and_its_ends_are_the_two_models(ngram):
    state = NgramState(ngram)
    logits = np.random.default_rng(1).normal(size=(4, V)).astype(np.float32) * 3
    context = state.advance(state.initial(4), np.arange(4))
    ngram_probs = state.probabilities(context)
    for weight in (0.0, 0.3, 1.0):
        mixed = np.exp(ngram_mix.Mixture.single(weight, ngram).mix_logits(logits, context).astype(np.float64))
        np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-5)
        expected = (1 - weight) * scipy.special.softmax(logits.astype(np.float64), axis=1) + weight * ngram_probs
        np.testing.assert_allclose(mixed, expected, rtol=1e-5)
    model_only = ngram_mix.Mixture.single(0.0, ngram).mix_logits(logits, context)
    np.testing.assert_allclose(model_only, scipy.special.log_softmax(logits, axis=1), atol=1e-5)


def test_each_row_takes_the_weight_of_its_context_length(ngram):
    state = NgramState(ngram)
    sequences = phrases(np.random.default_rng(6), 6)
    context = state.initial(6)
    for i in range(5):
        context = state.advance(context, np.array([s[i] for s in sequences], np.int64))
    length = state.context_length(context)
    assert len(set(length.tolist())) >= 2                  # rows that remember different amounts
    weights = np.linspace(0.1, 0.9, ngram.order)
    mixture = ngram_mix.Mixture(weights, ngram, state)
    logits = np.random.default_rng(7).normal(size=(6, V)).astype(np.float32)
    mixed = np.exp(mixture.mix_logits(logits, context).astype(np.float64))
    w = weights[length][:, None]
    expected = (1 - w) * scipy.special.softmax(logits.astype(np.float64), axis=1) + w * state.probabilities(context)
    np.testing.assert_allclose(mixed, expected, rtol=1e-5)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-5)
    # scoring: the same weights per target as in sampling
    model_nll = np.random.default_rng(8).uniform(0.5, 3.0, sum(len(s) - 1 for s in sequences))
    logp, lengths = ngram.target_log_probs(sequences)
    mixed, ngram_logp = mixture.target_nll(model_nll, sequences)
    np.testing.assert_allclose(ngram_logp, logp)
    np.testing.assert_allclose(mixed,
                               -np.log((1 - weights[lengths]) * np.exp(-model_nll) + weights[lengths] * np.exp(logp)))


def test_weight_search_finds_the_better_predictor():
    rng = np.random.default_rng(2)
    good, bad = -np.log(rng.uniform(0.6, 0.9, 500)), -np.log(rng.uniform(0.01, 0.1, 500))
    assert ngram_mix.fit_weight(good, -bad)[0] < 0.02      # the model far better: little n-gram
    assert ngram_mix.fit_weight(bad, -good)[0] > 0.98
    # each right on half the events: the mixture beats both, with a weight inside
    model_nll, ngram_logp = np.r_[good[:250], bad[:250]], -np.r_[bad[250:], good[250:]]
    weight, nll = ngram_mix.fit_weight(model_nll, ngram_logp)
    assert 0.2 < weight < 0.8 and nll < min(model_nll.mean(), -ngram_logp.mean())
    np.testing.assert_allclose(ngram_mix.mixed_nll(model_nll, ngram_logp, 0.0), model_nll)
    np.testing.assert_allclose(ngram_mix.mixed_nll(model_nll, ngram_logp, 1.0), -ngram_logp)


def test_weights_by_context_length_earn_their_place_only_where_the_ngram_changes_with_it():
    """The n-gram right where it remembers long contexts and wrong where it backs off: weights by length win
    on the fold they were not fitted on; where nothing changes with length one weight is kept per length."""
    rng = np.random.default_rng(9)
    good, bad = -np.log(rng.uniform(0.6, 0.9, 4000)), -np.log(rng.uniform(0.01, 0.1, 4000))
    length = np.repeat([0, 4], 2000)
    model_nll = rng.permutation(np.r_[good[:2000], bad[:2000]])  # the model middling everywhere
    ngram_logp = -np.r_[bad[2000:], good[2000:]]                 # the n-gram bad at length 0, good at length 4
    single = ngram_mix.fit_weight(model_nll, ngram_logp)[0]
    weights = ngram_mix.fit_weights(model_nll, ngram_logp, length, order=5, single=single)
    assert weights[0] < 0.3 and weights[4] > 0.7
    assert weights[1] == weights[2] == weights[3] == single  # no targets at these lengths
    fold = np.arange(4000) % 2 == 0
    cross = ngram_mix.cross_fitted(model_nll, ngram_logp, length, fold, order=5)
    assert cross["by_context_length"] < cross["single"] - 0.1
    few = np.r_[np.zeros(3900, np.int64), np.full(100, 4)]       # length 4 below MIN_LENGTH_TARGETS
    assert ngram_mix.fit_weights(model_nll, ngram_logp, few, order=5, single=single)[4] == single


@pytest.mark.parametrize("allowed", [False, True])
def test_weights_by_context_length_only_when_asked(allowed):
    """Chunks that recite a train motif between random stretches: the n-gram is right where it remembers a long
    context and wrong where it backs off, so weights by length win across the folds; they are kept only when
    ``ngram_mix_by_length`` asks for them."""
    rng = np.random.default_rng(3)
    motif = rng.integers(0, 12, 40)
    trained = [motif.copy() for _ in range(20)]
    apart = [np.concatenate([motif, rng.integers(0, 12, 40)] * 3) for _ in range(8)]
    model_nll = np.full(sum(len(c) - 1 for c in apart), np.log(12) - 0.3)   # a model a little above uniform
    fitted = ngram_mix.fit_order(trained, apart, model_nll, order=5, vocab=12, by_length=allowed)
    assert fitted["cross_fitted"]["by_context_length"] < fitted["cross_fitted"]["single"]
    assert fitted["by_context_length"] is allowed
    assert (len(set(fitted["weights"])) > 1) is allowed
    assert fitted["nll_chosen_cross_fitted"] == fitted["cross_fitted"]["by_context_length" if allowed else "single"]


def test_held_apart_slice_is_fixed_by_the_seed_and_left_out_of_training():
    chunks = phrases(np.random.default_rng(3), 40)
    config = PerformanceRNNConfig(ngram_mix=True, ngram_mix_share=0.1, seed=5)
    mask = ngram_mix.held_apart(40, share=0.1, seed=5)
    assert mask.sum() == 4 and np.array_equal(mask, ngram_mix.held_apart(40, share=0.1, seed=5))
    assert not np.array_equal(mask, ngram_mix.held_apart(40, share=0.1, seed=6))
    kept = ngram_mix.training_chunks(chunks, config)
    assert len(kept) == 36 and all(any(k is c for c in chunks) for k in kept)
    assert ngram_mix.training_chunks(chunks, PerformanceRNNConfig()) is chunks
    assert ngram_mix.held_apart(1, share=0.1, seed=0).sum() == 0
    with pytest.raises(ConfigError, match="ngram_mix_share"):
        PerformanceRNNConfig(ngram_mix_share=0.0)


class Recording(ngram_mix.MixedEngine):
    """The mixed engine, keeping each step's n-gram distribution of row 0."""

    def step(self, events, controls, state):
        logits, state = super().step(events, controls, state)
        self.seen.append(self.mixture.state.probabilities(state[1][:1])[0])
        return logits, state


def test_sampling_steps_the_ngram_with_the_sampled_events(ngram):
    config = PerformanceRNNConfig(layers=(16,))
    model = FAMILY.build_model(config, {"num_classes": V, "controls": [], "control_dim": 0})
    mixture = ngram_mix.Mixture.single(0.5, ngram)
    recording = Recording(engine_for(model, "tflite"), mixture)
    recording.seen = []
    primer = np.array([370, 60, 300, 188], np.int32)
    (piece,) = sample_events(model, config.encoding, seconds=1.0, seed=4, primer=primer, engine=recording)
    np.testing.assert_array_equal(piece[:4], primer)
    for i, probs in enumerate(recording.seen[:len(piece) - 1]):
        np.testing.assert_allclose(probs, ngram.probabilities(piece[:i + 1]), atol=1e-9)


def test_compiled_mixture_steps_as_the_numpy_one(ngram):
    """The TensorFlow twin (inside the compiled loop) gives the numpy state's contexts and distributions."""
    state = NgramState(ngram)
    model = FAMILY.build_model(PerformanceRNNConfig(layers=(8,)), {"num_classes": V, "controls": [],
                                                                   "control_dim": 0})
    mixture = ngram_mix.Mixture(np.linspace(0.1, 0.9, ngram.order), ngram, state)
    mixed = MixedModel(model, mixture)
    sequences = phrases(np.random.default_rng(5), 4)
    context, twin = state.initial(4), mixed.initial_state(4)["ngram"]
    for i in range(min(map(len, sequences))):
        events = np.array([s[i] for s in sequences], np.int64)
        context, twin = state.advance(context, events), mixed.advance(twin, tf.constant(events))
        np.testing.assert_array_equal(twin.numpy(), context)
        np.testing.assert_allclose(mixed.probabilities(twin).numpy(), state.probabilities(context), atol=1e-6)
        np.testing.assert_array_equal(mixed.context_length(twin).numpy(), state.context_length(context))
    events = np.array([s[0] for s in sequences], np.int32)
    begin = mixed.initial_state(4)
    logits, _ = mixed.step(tf.constant(events), None, begin)
    model_logits, _ = model.step(tf.constant(events), None, begin["model"])
    expected = mixture.mix_logits(model_logits.numpy(), state.advance(state.initial(4), events.astype(np.int64)))
    np.testing.assert_allclose(logits.numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(tf.reduce_sum(tf.exp(logits), axis=1).numpy(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("engine", ["tflite", "tf"])
def test_beam_search_primer_and_controls_run_with_the_mixture(ngram, engine):
    config = PerformanceRNNConfig(layers=(16,), controls=("density",), control_dropout=0.5)
    model = FAMILY.build_model(config, {"num_classes": V, "controls": ["density"],
                                        "control_dim": control_dim(config.controls)})
    mixture = ngram_mix.Mixture.single(0.5, ngram)
    primer = np.array([370, 60, 300, 188], np.int32)
    controls = user_controls(config.controls, density=[4.0])
    for beam in (None, 3):
        pieces = sample_events(model, config.encoding, seconds=1.0, seed=4, primer=primer, engine=engine, beam=beam,
                               num=2, ngram=mixture, controls=controls)
        assert len(pieces) == 2 and all(np.array_equal(p[:4], primer) and len(p) > 4 for p in pieces)


def test_music_transformer_samples_with_the_mixture_in_its_compiled_loop(ngram):
    config = MusicTransformerConfig(layers=1, width=16, heads=2, ff_dim=32, span=16)
    model = MT.build_model(config, {"num_classes": V, "controls": [], "control_dim": 0})
    mixture = ngram_mix.Mixture.single(0.5, ngram)
    primer = np.array([370, 60, 300, 188], np.int32)
    for beam in (None, 2):
        pieces = sample_events(model, config.encoding, seconds=1.0, seed=2, primer=primer, beam=beam, num=2,
                               ngram=mixture)
        assert all(np.array_equal(p[:4], primer) and len(p) > 4 for p in pieces)


def test_reorder_moves_each_rows_ngram_context(ngram):
    state = NgramState(ngram)
    model = FAMILY.build_model(PerformanceRNNConfig(layers=(8,)), {"num_classes": V, "controls": [],
                                                                   "control_dim": 0})
    engine = ngram_mix.MixedEngine(engine_for(model, "tflite"), ngram_mix.Mixture(np.full(5, 0.5), ngram, state))
    carried = engine.initial_state(3)
    _, carried = engine.step(np.array([1, 2, 3], np.int32), None, carried)
    moved = engine.reorder(carried, np.array([2, 2, 0]))
    np.testing.assert_array_equal(moved[1], carried[1][[2, 2, 0]])
    np.testing.assert_array_equal(moved[0], carried[0][[2, 2, 0]])


CONFIG = """
model: performance-rnn
seed: 0
train: {steps: 40, batch_size: 16, learning_rate: 0.01, eval_every: 20, eval_batches: 4, checkpoint_every: 20}
layers: [48]
example_events: 64
example_hop: 32
stretch_variants: 1
ngram_mix: true
ngram_mix_share: 0.2
"""


@pytest.mark.slow
def test_trained_run_scores_and_samples_with_its_mixture(bach_corpus, tmp_path_factory, train_preset, tmp_path):
    run_dir = train_preset(tmp_path_factory.mktemp("mix"), CONFIG, bach_corpus)
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["ngram_mix_held_apart_chunks"] >= 1 and (run_dir / ngram_mix.EVENTS_FILE).is_file()
    run = load_run(run_dir)
    figures = heldout.heldout_likelihood(run, bach_corpus)
    mix = figures["ngram_mix"]
    record = json.loads((run_dir / ngram_mix.WEIGHT_FILE).read_text())
    assert record["step"] == run.step and mix["weights"] == record["weights"] and len(mix["weights"]) == mix["order"]
    assert record["by_length_allowed"] is False and not mix["by_context_length"]   # one weight unless asked
    assert all(0 <= w <= 1 for w in mix["weights"]) and mix["by_context_length"] == record["by_context_length"]
    assert record["nll_mixture"] <= min(record["nll_model"], record["nll_ngram"]) + 1e-9
    assert set(record["cross_fitted"]) == {"single", "by_context_length"}
    assert mix["weight_single"] == record["weight"] and mix["nll_mixture_single"] <= mix["nll_model"] + 0.05
    if not mix["by_context_length"]:
        assert mix["nll_mixture_single"] == pytest.approx(mix["nll_mixture"])
    assert mix["nll_model"] == pytest.approx(figures["eval_nll_per_event"], rel=0.05)
    assert figures["eval_nll_per_event_mixture"] == mix["nll_mixture"]
    for engine in ("tflite", "tf"):
        paths = generate(run_dir, out=tmp_path / f"{engine}.mid", seconds=2, seed=1, num=2, beam=2, engine=engine,
                         primer_pitches=[60, 64, 67])
        assert len(paths) == 2 and all(p.stat().st_size > 0 for p in paths)
    plain = load_run(run_dir)  # a run trained without the mixture has nothing to mix
    (run_dir / ngram_mix.EVENTS_FILE).rename(tmp_path / "moved.npz")
    (run_dir / ngram_mix.WEIGHT_FILE).unlink()
    with pytest.raises(RunDirError, match="trained without ngram_mix"):
        heldout.mixture_of(plain)


def test_report_names_the_weights_and_how_they_were_chosen():
    held = {"held_apart_chunks": 12, "nll_model": 1.2, "nll_ngram": 1.4, "nll_mixture": 1.1}
    mix = {"order": 3, "weights": [0.1, 0.4, 0.8], "by_context_length": True, "nll_model": 1.25,
           "nll_mixture": 1.15, "nll_mixture_single": 1.18, "held_apart": held}
    metrics = {"corpus": "c", "generated": [], "plots": {}, "baseline_nll_per_event": {"unigram": 4.0, "ngram": 1.5},
               "ngram_nll_by_order": {"3": 1.5},
               "ngram_mix": mix}
    text = render_report(metrics)
    assert "Kneser-Ney 3-gram, w by the context length the n-gram remembers (0..2): 0.10, 0.40, 0.80, fitted on " \
           "12 train chunks" in text
    assert "| the mixture with one weight | 1.18" in text
    assert "w = 0.400, fitted on" in render_report(dict(metrics, ngram_mix=dict(mix, weights=[0.4] * 3,
                                                                                by_context_length=False)))
