"""A family's ``listen`` hook: its figures join each evaluation in metrics.json and TensorBoard, and its
"selection_loss" picks the best checkpoint in place of the eval loss (also after a resume)."""

from __future__ import annotations

import dataclasses

import pytest
import train_toy

from composer.train.family import FAMILIES
from composer.train.run import load_run
from composer.train.trainer import train

pytestmark = pytest.mark.slow
NAME = "toy-listening"
SCORES = {20: 0.2, 40: 0.9, 60: 0.5}  # the sample of step 40 "sounds" best, though eval loss falls to step 60


@dataclasses.dataclass(frozen=True)
class ListeningConfig(train_toy.ToyConfig):
    model: str = NAME


class ListeningFamily(train_toy.ToyFamily):
    name = NAME
    config_class = ListeningConfig

    def listen(self, model, config, meta, *, step, eval_loss):
        return {"audio_ratio": SCORES[step], "selection_loss": -SCORES[step]}


FAMILY = ListeningFamily()
FAMILIES[NAME] = "test_listen_hook:FAMILY"


def test_selection_loss_picks_the_best_checkpoint(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = train_toy.write_config(tmp_path / "toy.yaml")
    config.write_text(config.read_text().replace(train_toy.NAME, NAME))
    metrics = train(NAME, corpus=train_toy.FakeCorpus(), config_path=config, run_dir=tmp_path / "run",
                    progress=False)
    assert [h["audio_ratio"] for h in metrics["history"]] == [0.2, 0.9, 0.5]
    assert metrics["history"][-1]["eval_loss"] < metrics["history"][1]["eval_loss"]
    assert metrics["best"] == {"step": 40, "eval_loss": metrics["history"][1]["eval_loss"], "selection_loss": -0.9,
                               "audio_ratio": 0.9}
    assert load_run(tmp_path / "run").step == 40
    events = EventAccumulator(str(tmp_path / "run" / "logs")).Reload()
    assert "audio_ratio" in events.Tags()["tensors"] + events.Tags()["scalars"]

    resumed = train(NAME, corpus=train_toy.FakeCorpus(), config_path=None, run_dir=tmp_path / "run", steps=60,
                    resume=True, progress=False)
    assert resumed["best"]["step"] == 40
