"""SampleRNN model: every preset builds and steps, TBPTT state carry, and the compiled generator."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from composer.audio.samplernn.family import FAMILY, SampleRNNConfig
from composer.config import load

PRESETS = sorted((Path(__file__).resolve().parents[3] / "configs" / "samplernn").glob("*.yaml"))
META = {"sample_rate": 16000, "q_levels": 256, "quantization": "mu-law", "eval_unigram_bits": 7.0}


def load_preset(preset: str) -> SampleRNNConfig:
    return load(PRESETS[0].parent / f"{preset}.yaml", SampleRNNConfig)


@pytest.fixture(scope="module")
def models():
    """The tiny 2-tier and 3-tier models with random weights, shared: generation compiles once
    per model and batch size, so every test here generates batches of 2."""
    built = {name: FAMILY.build_model(load_preset(name), META) for name in ("tiny", "tiny_3tier")}
    lstm = dataclasses.replace(load_preset("tiny_3tier"), cell="lstm", rnn_layers=2, weight_norm=False)
    return {**built, "lstm_2layer": FAMILY.build_model(lstm, META)}


def random_codes(batch: int, n: int, seed: int = 0) -> tf.Tensor:
    return tf.constant(np.random.default_rng(seed).integers(0, 256, (batch, n)), tf.int32)


@pytest.mark.parametrize("preset", [p.stem for p in PRESETS])
def test_every_preset_builds_runs_forward_and_generates(models, preset):
    config = load_preset(preset)
    model = models.get(preset) or FAMILY.build_model(config, META)
    assert model.frame_sizes == config.frame_sizes and len(model.frame_tiers) == len(config.frame_sizes)
    n = 2 * config.frame_sizes[0]
    logits = model(random_codes(2, model.lookback + n))
    assert logits.shape == (2, n, config.q_levels)
    if preset in models:  # compiling the bigger presets' generation is left to the benchmark
        codes = model.generate(n + 3, batch_size=2, seed=1)
        assert codes.shape == (2, n + 3) and codes.dtype == tf.int32


@pytest.mark.parametrize("preset", ["tiny", "tiny_3tier", "lstm_2layer"])
def test_state_carried_across_windows_equals_one_long_pass(models, preset):
    model = models[preset]
    look, n = model.lookback, 4 * model.lookback
    codes = random_codes(16, look + 2 * n, seed=1)
    whole, _ = model.forward(codes, model.initial_states(16))
    first = model.forward_carried(codes[:, :look + n], tf.constant(True), mode="eval")
    second = model.forward_carried(codes[:, n:], tf.constant(False), mode="eval")
    np.testing.assert_allclose(tf.concat([first, second], axis=1), whole, atol=1e-4)
    # a reset restarts from the learned initial state, whatever was carried
    again = model.forward_carried(codes[:, :look + n], tf.constant(True), mode="eval")
    np.testing.assert_allclose(again, first, atol=1e-5)
    assert not np.allclose(model.forward_carried(codes[:, :look + n], tf.constant(False), mode="eval"), first)


def greedy_agreement(model, context: tf.Tensor, generated: tf.Tensor) -> float:
    """Share of generated codes that are the argmax of the parallel (teacher-forced) forward pass."""
    codes = tf.concat([context, generated], axis=1)
    states = model.initial_states(codes.shape[0])
    if context.shape[1] > model.lookback:  # warm the tiers on the context as generate does
        _, states = model.run_frame_tiers(context, states)
        codes = codes[:, context.shape[1] - model.lookback:]
    logits, _ = model.forward(codes, states)
    return float(np.mean(np.argmax(logits, axis=-1) == generated.numpy()))


@pytest.mark.parametrize("preset", ["tiny", "tiny_3tier", "lstm_2layer"])
def test_compiled_generation_follows_the_model(models, preset):
    """At temperature 0 every sample is the argmax of what the parallel forward pass predicts
    there: the cached, once-per-frame tier outputs line up with training's."""
    model = models[preset]
    silence = tf.fill((2, model.lookback), 128)
    generated = model.generate(8 * model.lookback, batch_size=2, temperature=0.0)
    assert greedy_agreement(model, silence, generated) > 0.98
    primer = random_codes(1, 5 * model.lookback + 3, seed=2)[0]
    primed = model.generate(8 * model.lookback, batch_size=2, temperature=0.0, primer=primer)
    padded = tf.concat([tf.fill((model.lookback - 3,), 128), primer], axis=0)
    assert greedy_agreement(model, tf.tile(padded[None], (2, 1)), primed) > 0.98
    assert not np.array_equal(primed, generated)


def stepped_states(model, codes: tf.Tensor):
    """The frame tiers' states after reading ``codes`` [batch, lookback + n] one frame at a time, as
    generation's loop steps them: each tier reads the frame just before its next block of targets."""
    states = model.initial_states(codes.shape[0])

    def step(level, conditioning, start):
        tier = model.frame_tiers[level]
        upsampled, states[level] = tier.step(codes[:, start - tier.frame_size:start], conditioning, states[level])
        if level + 1 < len(model.frame_tiers):
            below = model.frame_tiers[level + 1].frame_size
            for j in range(tier.ratio):
                step(level + 1, upsampled[:, j], start + j * below)

    for start in range(model.lookback, codes.shape[1], model.lookback):
        step(0, None, start)
    return states


@pytest.mark.parametrize("preset", ["tiny", "tiny_3tier", "lstm_2layer"])
def test_one_pass_warm_up_equals_stepping_through_the_primer(models, preset):
    """The primer's parallel pass leaves every tier where frame-by-frame stepping would, and each
    sequence of a batch can have its own primer."""
    model = models[preset]
    primers = random_codes(2, 6 * model.lookback + 5, seed=3)
    history, warmed = model._warm_up(primers, 2)
    padded = tf.concat([tf.fill((2, model.lookback - 5), 128), primers], axis=1)
    np.testing.assert_array_equal(history, padded[:, -model.lookback:])
    for got, want in zip(tf.nest.flatten(warmed), tf.nest.flatten(stepped_states(model, padded))):
        np.testing.assert_allclose(got, want, atol=1e-5)
    shared, _ = model._warm_up(primers[0], 2)  # one clip [n] is shared by the batch
    np.testing.assert_array_equal(shared, tf.tile(padded[:1, -model.lookback:], (2, 1)))


def test_generation_length_seed_and_temperature(models):
    model = models["tiny_3tier"]
    a = model.generate(5000, batch_size=2, seed=7).numpy()  # more than one compiled block
    assert a.shape == (2, 5000) and a.min() >= 0 and a.max() < 256
    np.testing.assert_array_equal(model.generate(5000, batch_size=2, seed=7), a)
    assert not np.array_equal(model.generate(5000, batch_size=2, seed=8), a)
    assert not np.array_equal(a[0], a[1])  # each sequence of the batch draws its own noise
    done = []
    model.generate(5000, batch_size=2, seed=7, progress=done.append)  # reported per block (a progress bar)
    assert len(done) >= 2 and done == sorted(done) and done[-1] == 5000
    greedy = model.generate(200, batch_size=2, temperature=0.0, seed=1).numpy()
    np.testing.assert_array_equal(model.generate(200, batch_size=2, temperature=0.0, seed=2), greedy)
    np.testing.assert_array_equal(greedy[0], greedy[1])
