"""The Generate tab's request as ``composer.generate`` options: only what the run's family takes."""

from pathlib import Path

import pytest

from composer.generate import options_of
from composer.studio.schemas import GenerateRequest
from composer.studio.takes import generation_options
from composer.studio.workspace import StudioError


def run(model: str) -> dict:
    return {"name": "mine", "model": model, "options": [option.name for option in options_of(model)]}


def test_set_fields_become_options_and_spread_ones_lists():
    request = GenerateRequest(run="mine", seconds=3, num=2, seed=7, temperature=0.9, key="D minor", density=4)
    options = generation_options(request, Path("p.mid"), run("music-transformer"))
    assert options == {"seconds": 3, "temperature": 0.9, "num": 2, "seed": 7, "key": ["D minor"],
                       "density": [4.0], "primer": Path("p.mid")}


@pytest.mark.parametrize("field, value", [("top_p", 0.9), ("key", "D minor"), ("density", 2.0)])
def test_a_field_the_family_does_not_take_is_refused(field, value):
    request = GenerateRequest(run="mine", **{field: value})
    with pytest.raises(StudioError, match=f"^{field} does not apply to samplernn runs \\(run 'mine'\\)$"):
        generation_options(request, None, run("samplernn"))


def test_an_empty_key_is_no_key():
    assert "key" not in generation_options(GenerateRequest(run="mine", key=""), None, run("lstm-vae"))
