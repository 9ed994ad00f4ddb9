"""The typed config loader: good files load, bad ones give one-line errors naming key and file."""

import dataclasses

import pytest

from composer import config
from composer.atomic import write_text_atomic
from composer.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    model: str = "toy"
    seed: int = 0
    layers: tuple[int, ...] = (8, 8)
    dropout: float = 0.0
    cell: str = "lstm"
    note: str | None = None
    train: config.TrainConfig = config.TrainConfig()


@pytest.mark.parametrize("text, message", [
    ("layerz: [1]", "unknown key 'layerz'"),
    ("train: {stepz: 3}", "unknown key 'train.stepz'"),
    ("layers: [1, a]", "'layers[1]' must be int"),
    ("dropout: fast", "'dropout' must be float"),
    ("seed: true", "'seed' must be int"),
    ("train: {mixed_precision: fp8}", "'train.mixed_precision' must be one of"),
    ("train: {steps: 0}", "train.steps must be positive"),
    ("train: {minutes: 0}", "train.minutes must be within (0, 43200], got 0.0"),
    ("train: {minutes: -5}", "train.minutes must be within (0, 43200], got -5.0"),
    ("train: {minutes: .nan}", "train.minutes must be within (0, 43200], got nan"),
    ("train: {minutes: 1e9}", "train.minutes must be within (0, 43200], got 1000000000.0"),
    ("train: {minutes: soon}", "'train.minutes' must be float"),
    ("train: 3", "'train' must be a mapping"),
    ("- a list", "expected a mapping"),
    ("seed: [", "not valid YAML"),
])
def test_bad_configs_name_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        config.load(path, ToyConfig)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_good_config_round_trips_through_dump(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text("seed: 3\nlayers: [4, 5]\ndropout: 1\ntrain: {steps: 7, clip_norm: null}\n")
    loaded = config.load(path, ToyConfig)
    assert loaded.layers == (4, 5) and loaded.dropout == 1.0 and loaded.train.steps == 7
    assert loaded.train.clip_norm is None and loaded.train.batch_size == config.TrainConfig().batch_size
    config.dump(loaded, tmp_path / "resolved.yaml")
    assert config.load(tmp_path / "resolved.yaml", ToyConfig) == loaded


def test_a_budget_in_minutes_is_optional(tmp_path):
    path = tmp_path / "budget.yaml"
    path.write_text("train: {minutes: 30}\n")
    assert config.load(path, ToyConfig).train.minutes == 30.0
    assert config.load(path, ToyConfig, sets=["train.minutes=null"]).train.minutes is None
    assert config.TrainConfig().minutes is None


def test_overrides_replace_file_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 3\n")
    assert config.load(path, ToyConfig, seed=9).seed == 9


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.yaml", ToyConfig)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


@pytest.mark.parametrize("sets, expected", [
    (["train.steps=300"], {"train.steps": 300}),
    (["layers=[512,512]", "dropout=0.1"], {"layers": (512, 512), "dropout": 0.1}),
    (["train.learning_rate=1e-3"], {"train.learning_rate": 0.001}),  # YAML 1.1 reads 1e-3 as a string
    (["note=hello=world"], {"note": "hello=world"}),
    (["note=null"], {"note": None}),
])
def test_set_overrides_are_typed_like_the_file(tmp_path, sets, expected):
    path = tmp_path / "preset.yaml"
    path.write_text("layers: [4]\ntrain: {steps: 10, learning_rate: 1e-2}\n")
    loaded = config.load(path, ToyConfig, sets=sets)
    for key, value in expected.items():
        obj = loaded
        for part in key.split("."):
            obj = getattr(obj, part)
        assert obj == value
    assert config.load(path, ToyConfig).train.steps == 10  # the file itself is untouched


@pytest.mark.parametrize("sets, message", [
    (["train.stepz=3"], "--set 'train.stepz=3': unknown key 'train.stepz'"),
    (["layers=[1,a]"], "--set 'layers=[1,a]': 'layers[1]' must be int"),
    (["train.steps=5", "train.stepz=3", "layers=[2]"], "--set 'train.stepz=3': unknown key 'train.stepz'"),
    (["layers=[1,a]", "layers=[2]", "dropout=x"], "--set 'dropout=x': 'dropout' must be float"),
    (["steps"], "--set 'steps' must look like KEY=VALUE (e.g. train.steps=300)"),
    (["=3"], "--set '=3' must look like KEY=VALUE"),
    (["seed.x=1"], "--set 'seed.x=1': 'seed' is not a group of keys"),
    (["train.steps=0"], "--set 'train.steps=0': train.steps must be positive"),
])
def test_bad_set_overrides_are_one_line_errors(tmp_path, sets, message):
    path = tmp_path / "preset.yaml"
    path.write_text("seed: 1\n")
    with pytest.raises(ConfigError) as info:
        config.load(path, ToyConfig, sets=sets)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_bad_file_is_blamed_on_the_file_not_on_a_good_set(tmp_path):
    path = tmp_path / "preset.yaml"
    path.write_text("seed: 1\nstepz: 3\n")
    with pytest.raises(ConfigError, match=r"^.*preset.yaml: unknown key 'stepz'"):
        config.load(path, ToyConfig, sets=["train.steps=5"])
