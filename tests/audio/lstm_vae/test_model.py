"""The LSTM+VAE model and its config: shapes, step-wise generation, warm-up, presets."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from composer.audio.lstm_vae.config import LstmVaeConfig
from composer.audio.lstm_vae.family import FAMILY
from composer.audio.lstm_vae.model import LstmVae, gaussian_kl
from composer.config import load
from composer.errors import ConfigError
from composer.train.run import model_checkpoint

PRESETS = sorted((Path(__file__).parents[3] / "configs" / "lstm_vae").glob("*.yaml"))
F = 24


def small_model(cell: str = "lstm", latent_dim: int = 4, **kwargs) -> LstmVae:
    model = LstmVae(feature_dim=F, cell=cell, layers=2, units=16, latent_dim=latent_dim, decoder_units=16, **kwargs)
    model(tf.zeros([1, 2, F]))
    return model


def frames(batch: int = 3, time: int = 9, seed: int = 0) -> tf.Tensor:
    return tf.constant(np.random.default_rng(seed).standard_normal((batch, time, F)), tf.float32)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("latent_dim", [0, 4])
def test_teacher_forced_pass_predicts_every_next_frame(cell, latent_dim):
    model = small_model(cell, latent_dim)
    prediction, kl = model(frames())
    assert prediction.shape == (3, 8, F) and kl.shape == (3, 8)
    reconstruction, _ = model.frame_losses(frames())
    assert reconstruction.shape == (3, 8) and np.all(reconstruction.numpy() > 0)
    if latent_dim:
        assert np.all(kl.numpy() >= -1e-5) and np.any(kl.numpy() > 0)
        assert {"prior", "posterior"} <= {layer.name for layer in model.layers}
    else:
        assert np.all(kl.numpy() == 0)
        assert not hasattr(model, "prior")


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_checkpoint_restores_every_weight(tmp_path, cell):
    model, fresh = small_model(cell), small_model(cell)
    path = model_checkpoint(model).save(str(tmp_path / "ckpt"))
    model_checkpoint(fresh).restore(path).assert_existing_objects_matched()
    assert len(model.weights) == len(fresh.weights) == 2 + 3 * 2 + 8 + 4 + 1 + 1  # ..., decoder, scale, step
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(model.weights, fresh.weights))


def test_gaussian_kl_is_zero_for_equal_distributions_and_matches_the_closed_form():
    mean, log_var = tf.constant([[0.5, -1.0]]), tf.constant([[0.2, -0.3]])
    assert float(gaussian_kl(mean, log_var, mean, log_var)[0]) == pytest.approx(0.0, abs=1e-6)
    kl = float(gaussian_kl(tf.constant([[1.0]]), tf.constant([[0.0]]), tf.constant([[0.0]]), tf.constant([[0.0]]))[0])
    assert kl == pytest.approx(0.5)  # KL(N(1,1) || N(0,1)) = 1/2


@pytest.fixture(scope="module")
def vae() -> LstmVae:
    return small_model(latent_dim=4)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_step_loop_matches_the_teacher_forced_pass(cell):
    model = small_model(cell, latent_dim=0)
    x = frames(batch=2, time=7)
    expected = model(tf.concat([x, x[:, :1]], axis=1))[0][:, -1]  # frame 7 predicted from frames 0..6
    generated = model.generate(x, 3, temperature=0.0, seed=0, limit=tf.fill([F], 1e6), jit_compile=False)
    assert generated.shape == (2, 3, F)
    assert np.allclose(generated[:, 0], expected, atol=1e-4)


def test_generation_is_reproducible_per_seed_and_temperature_scales_the_noise(vae):
    primer, limit = frames(batch=2, time=5), tf.fill([F], 1e6)

    def sample(seed, temperature=1.0, jit_compile=False, lite=False):
        return vae.generate(primer, 6, temperature=temperature, seed=seed, limit=limit, jit_compile=jit_compile,
                            lite=lite).numpy()

    first = sample(7)
    assert np.array_equal(first, sample(7))
    assert np.allclose(first, sample(7, jit_compile=True), atol=1e-4)  # XLA computes the same loop
    assert np.allclose(first, sample(7, lite=True), atol=1e-4)  # and so does LiteRT
    assert not np.allclose(first, sample(8))
    assert np.array_equal(sample(1, temperature=0.0), sample(2, temperature=0.0))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("latent_dim", [0, 4])
def test_the_litert_loop_computes_the_tensorflow_loop(cell, latent_dim):
    model, primer = small_model(cell, latent_dim=latent_dim), frames(batch=3, time=4)
    expected, got = (model.generate(primer, 7, temperature=1.0, seed=3, limit=np.full(F, 5.0, np.float32),
                                    jit_compile=False, lite=lite).numpy() for lite in (False, True))
    assert got.shape == (3, 7, F) and np.allclose(got, expected, atol=1e-4)


def test_generated_frames_are_held_within_the_limit(vae):
    limit = np.full(F, 0.01, np.float32)
    for lite in (False, True):
        generated = vae.generate(frames(batch=2, time=5) * 100.0, 6, temperature=3.0, seed=0, limit=limit,
                                 jit_compile=False, lite=lite).numpy()
        assert generated.shape == (2, 6, F)
        assert np.all(np.abs(generated) <= 0.01 + 1e-7) and np.all(np.isfinite(generated))


def test_kl_weight_ramps_with_the_training_step_and_eval_uses_full_beta():
    model = small_model(latent_dim=4, beta=0.5, kl_warmup_steps=10)
    train_loss = tf.function(lambda batch: FAMILY.compute_loss(model, batch, training=True))
    weights = []
    for _ in range(12):
        weights.append(float(model.kl_weight()))
        train_loss(frames())
    assert weights[0] == 0.0 and weights[5] == pytest.approx(0.25) and weights[11] == pytest.approx(0.5)
    assert int(model.step.numpy()) == 12
    FAMILY.compute_loss(model, frames(), training=False)
    assert int(model.step.numpy()) == 12  # evaluation does not advance the warm-up


@pytest.mark.parametrize("overrides, message", [
    (dict(layers=4), "layers"), (dict(units=4), "units"), (dict(latent_dim=-1), "latent_dim"),
    (dict(beta=-1.0), "beta"), (dict(hop=700), "hop"), (dict(domain="dct", phase="griffin_lim"), "griffin_lim"),
    (dict(highpass_hz=-3.0), "highpass_hz"), (dict(model="samplernn"), "lstm-vae"),
    (dict(sequence_frames=1), "sequence_frames"), (dict(temperature=-0.5), "temperature"),
    (dict(best_by="audio_ratio", listen_seconds=0.0), "listen_seconds"),
    (dict(augment_semitones=13), "augment_semitones"), (dict(magnitude="db"), "magnitude"),
    (dict(domain="fft", phase="griffin_lim", level_feature=True), "level_feature applies only to magnitude .log."),
])
def test_config_rejects_bad_values_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        LstmVaeConfig(**overrides)


@pytest.mark.parametrize("preset", PRESETS, ids=[p.stem for p in PRESETS])
def test_every_preset_builds_runs_and_generates(preset):
    config = load(preset, LstmVaeConfig)
    meta = {"feature_dim": config.spec.feature_dim}
    if config.units * config.layers > 2048:  # the GPU preset: 40M weights take too long to initialize here
        assert config.spec.feature_dim == config.frame_size
        return
    model = FAMILY.build_model(config, meta)
    x = tf.random.normal([1, 3, meta["feature_dim"]])
    prediction, kl = model(x)
    assert prediction.shape == (1, 2, meta["feature_dim"]) and kl.shape == (1, 2)
    assert np.isfinite(float(FAMILY.compute_loss(model, x, training=False)))
    generated = model.generate(x, 2, temperature=1.0, seed=0, limit=tf.fill([meta["feature_dim"]], 100.0),
                               jit_compile=False)
    assert generated.shape == (1, 2, meta["feature_dim"]) and np.all(np.isfinite(generated))
