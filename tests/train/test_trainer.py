"""The harness end to end on the toy family, in this process (default strategy)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import train_toy
import yaml

from composer.errors import ConfigError, RunDirError, TrainingError
from composer.train.run import eval_loss, load_run
from composer.train.trainer import batch_problem, train

pytestmark = pytest.mark.slow


def _train(tmp_path, name="run", config=None, **kwargs):
    config = config or train_toy.write_config(tmp_path / "toy.yaml")
    return train(train_toy.NAME, corpus=train_toy.FakeCorpus(), config_path=config, run_dir=tmp_path / name,
                 progress=False, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("trained")
    config = train_toy.write_config(tmp_path / "toy.yaml", sample_every=30)
    return tmp_path / "run", _train(tmp_path, config=config)


def test_run_dir_is_self_describing(trained):
    run_dir, metrics = trained
    for name in ("config.yaml", "meta.json", "corpus.json", "metrics.json", "checkpoints/checkpoint",
                 "checkpoints/best/checkpoint", "samples/step-30.txt", "samples/step-60.txt"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "logs").glob("events.out.tfevents.*"))
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["model"] == train_toy.NAME
    corpus = json.loads((run_dir / "corpus.json").read_text())
    assert corpus["name"] == "toy" and corpus["chunk_counts"]["train"]["symbolic"] == 256
    assert json.loads((run_dir / "meta.json").read_text()) == {"vocab": 12, "train_items": 256}


def test_metrics_show_learning(trained):
    _, metrics = trained
    assert metrics["model"] == train_toy.NAME and metrics["step"] == 60
    assert [h["step"] for h in metrics["history"]] == [20, 40, 60]
    first, last = metrics["history"][0], metrics["history"][-1]
    assert last["eval_loss"] < 0.5 * first["eval_loss"] and last["train_loss"] < first["train_loss"]
    best = min(metrics["history"], key=lambda h: h["eval_loss"])
    assert metrics["best"] == {"step": best["step"], "eval_loss": best["eval_loss"]}
    assert metrics["eval_perplexity"] == pytest.approx(math.exp(best["eval_loss"]))


def test_load_run_restores_the_best_model(trained):
    run_dir, metrics = trained
    run = load_run(run_dir)
    assert run.step == metrics["best"]["step"] and run.meta["vocab"] == 12
    corpus = train_toy.FakeCorpus()
    assert eval_loss(run, corpus, max_batches=2) == pytest.approx(metrics["best"]["eval_loss"], rel=1e-5)
    untrained = run.family.build_model(run.config, run.meta)
    untrained_loss = train_toy.FAMILY.compute_loss(untrained, corpus.splits["eval"][:16], training=False)
    assert float(untrained_loss) > 2 * metrics["best"]["eval_loss"]
    assert load_run(run_dir, checkpoint="latest").step == 60


def test_run_dir_of_one_model_is_not_another(trained):
    run_dir, _ = trained
    with pytest.raises(RunDirError, match="trained 'toy-conv', not 'samplernn'"):
        load_run(run_dir, model="samplernn")
    with pytest.raises(RunDirError, match="not a run directory"):
        load_run(run_dir / "logs")


def test_starting_over_a_run_dir_suggests_resume(trained):
    run_dir, _ = trained
    with pytest.raises(RunDirError, match="--resume"):
        train(train_toy.NAME, corpus=train_toy.FakeCorpus(), config_path=run_dir / "config.yaml",
              run_dir=run_dir, progress=False)


def test_resume_continues_exactly(tmp_path):
    """20 steps, then resume to 40, equals 40 steps straight: same step, optimizer state and data position."""
    straight = _train(tmp_path, "straight", steps=40)
    _train(tmp_path, "split", steps=20)
    resumed = _train(tmp_path, "split", steps=40, resume=True)
    assert resumed["step"] == 40 and [h["step"] for h in resumed["history"]] == [20, 40]
    assert resumed["history"][-1]["eval_loss"] == pytest.approx(straight["history"][-1]["eval_loss"], rel=1e-4)
    weights = [load_run(tmp_path / name, checkpoint="latest").model.get_weights() for name in ("straight", "split")]
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_single_nan_is_recovered(tmp_path, capsys):
    config = train_toy.write_config(tmp_path / "toy.yaml", steps=40, nan_at=30, learning_rate=0.02)
    metrics = _train(tmp_path, config=config)
    assert "non-finite loss at step 30: restored step 20, learning rate now 0.01" in capsys.readouterr().out
    assert metrics["step"] == 40 and metrics["history"][-1]["eval_loss"] < metrics["history"][0]["eval_loss"]
    run = load_run(tmp_path / "run", checkpoint="latest")
    assert all(np.isfinite(w).all() for w in run.model.get_weights())


def test_persistent_nan_stops_with_a_message(tmp_path):
    config = train_toy.write_config(tmp_path / "toy.yaml", nan_at=5, nan_forever=True, nan_retries=2)
    with pytest.raises(TrainingError, match=r"non-finite loss at step 1 after 2 restores of .*ckpt-0 .*learning "
                                            r"rate lowered to 0\.005, and its batches hold no bad values"):
        _train(tmp_path, config=config)


def test_out_of_vocabulary_input_is_named_not_blamed_on_the_learning_rate(tmp_path):
    corpus = train_toy.FakeCorpus()
    corpus.splits["train"][5:, 3] = -3  # what the transposition bug fed the Performance RNN
    config = train_toy.write_config(tmp_path / "toy.yaml", steps=5)
    with pytest.raises(TrainingError, match=r"^bad training input at step 1: .*-3") as caught:
        train("toy-conv", corpus=corpus, config_path=config, run_dir=tmp_path / "run", progress=False)
    assert "\n" not in str(caught.value) and "learning_rate" not in str(caught.value)


def test_set_overrides_are_recorded_and_resume_may_only_change_steps(tmp_path):
    metrics = _train(tmp_path, sets=["train.steps=20", "hidden=8"])
    assert metrics["step"] == 20
    text = (tmp_path / "run" / "config.yaml").read_text()
    assert text.startswith("# resolved from ") and "# --set train.steps=20\n# --set hidden=8\n" in text
    stored = yaml.safe_load(text)
    assert stored["hidden"] == 8 and stored["train"]["steps"] == 20
    with pytest.raises(RunDirError, match="'hidden' differs from"):
        _train(tmp_path, config=None, sets=["hidden=16"], resume=True)
    metrics = train(train_toy.NAME, corpus=train_toy.FakeCorpus(), config_path=None, run_dir=tmp_path / "run",
                    sets=["train.steps=30"], resume=True, progress=False)
    assert metrics["step"] == 30
    text = (tmp_path / "run" / "config.yaml").read_text()
    assert "# --set hidden=8" in text and yaml.safe_load(text)["train"]["steps"] == 30


@pytest.mark.parametrize("batch, problem", [
    ({"events": np.array([[1, 2, -3]])}, "holds -3 in 'events' (valid: 0..9)"),
    ({"events": np.array([[1, 10]])}, "holds 10 in 'events' (valid: 0..9)"),
    ({"audio": np.array([0.1, np.nan, np.inf], np.float32)}, "has 2 non-finite values in 'audio'"),
    ({"events": np.array([[0, 9]]), "weights": np.ones(2, np.float32)}, None),
])
def test_batch_problem_names_the_bad_values(batch, problem):
    assert batch_problem(batch, num_classes=10) == problem


@pytest.mark.parametrize("text, message", [
    ("model: toy-conv\ntrain: {stepz: 3}\n", r"toy\.yaml: unknown key 'train\.stepz' \(allowed: batch_size"),
    ("model: toy-conv\ntrain: {steps: many}\n", r"toy\.yaml: 'train\.steps' must be int, got 'many'"),
    ("model: toy-conv\nhidden: [1\n", r"toy\.yaml: not valid YAML"),
    ("model: samplernn\n", r"toy\.yaml: model is 'samplernn', but this trains 'toy-conv'"),
])
def test_bad_config_is_one_line_error(tmp_path, text, message):
    config = tmp_path / "toy.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message) as error:
        _train(tmp_path, config=config)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_and_restores_the_policy(tmp_path, policy):
    import keras

    config = train_toy.write_config(tmp_path / "toy.yaml", steps=20, eval_every=10, mixed_precision=policy,
                                    clip_norm=None)
    metrics = _train(tmp_path, config=config)
    losses = [h["eval_loss"] for h in metrics["history"]]
    assert losses[-1] < 0.6 * losses[0]
    assert keras.mixed_precision.global_policy().name == "float32"
    assert load_run(tmp_path / "run").model.get_weights()[0].dtype == np.float32


def test_jit_compiled_steps_train_like_the_graph_steps(tmp_path):
    """XLA changes how the step runs, not what it computes: same data, same losses to float error."""
    runs = {}
    for jit in (False, True):
        config = train_toy.write_config(tmp_path / f"toy-{jit}.yaml", steps=20, eval_every=10, jit_compile=jit)
        runs[jit] = [h["eval_loss"] for h in _train(tmp_path, name=f"run-{jit}", config=config)["history"]]
    assert runs[True][-1] < 0.6 * runs[True][0]
    assert runs[True] == pytest.approx(runs[False], rel=1e-3)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"strategy": "tpu"}, ConfigError, r"unknown strategy 'tpu' \(valid: default, mirrored, multi-worker\)"),
    ({"strategy": "multi-worker"}, ConfigError, r"needs the TF_CONFIG environment variable"),
    ({"resume": True}, RunDirError, r"not a run directory"),
])
def test_bad_options_are_clear_errors(tmp_path, monkeypatch, kwargs, error, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(error, match=message):
        _train(tmp_path, **kwargs)


def test_resume_refuses_a_changed_config(trained, tmp_path):
    run_dir, _ = trained
    changed = train_toy.write_config(tmp_path / "changed.yaml", sample_every=30, learning_rate=0.5)
    with pytest.raises(RunDirError, match=r"changed\.yaml: 'train' differs from .*only --steps and --minutes may"):
        train(train_toy.NAME, corpus=train_toy.FakeCorpus(), config_path=changed, run_dir=run_dir, resume=True,
              progress=False)
