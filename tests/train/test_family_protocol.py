"""Every registered family implements the whole ModelFamily protocol (a family is a folder plus a registry line)."""

from __future__ import annotations

import inspect
import typing

import pytest

from composer.config import load
from composer.errors import ConfigError
from composer.train.family import FAMILIES, ModelFamily, get_family

METHODS = [name for name, value in vars(ModelFamily).items() if inspect.isfunction(value) and not name.startswith("_")]
ATTRIBUTES = typing.get_type_hints(ModelFamily)  # name, config_class, output
SHIPPED = sorted(name for name, target in FAMILIES.items() if target.startswith("composer."))  # not tests' toys


def positional(function) -> list[str]:
    """The names of the parameters a caller passes by position (``self`` left out)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in inspect.signature(function).parameters.values() if p.kind in kinds and p.name != "self"]


@pytest.mark.parametrize("name", SHIPPED)
def test_family_implements_the_protocol(name):
    family = get_family(name)
    assert family.name == name and isinstance(family.config_class, type)
    assert family.output in typing.get_args(ATTRIBUTES["output"])
    assert set(ATTRIBUTES) == {"name", "config_class", "output"}
    assert len(METHODS) >= 8 and "heldout_likelihood" in METHODS
    for method in METHODS:
        assert callable(getattr(family, method, None)), f"{name} lacks {method}"
        if method != "generate":  # generate adds the family's own keyword options
            assert positional(getattr(family, method)) == positional(getattr(ModelFamily, method)), (name, method)


@pytest.mark.parametrize("name", SHIPPED)
def test_an_unknown_preset_key_names_the_file_and_the_key(tmp_path, name):
    path = tmp_path / "bad.yaml"
    path.write_text(f"model: {name}\nlatent_size: 3\n")
    with pytest.raises(ConfigError, match="bad.yaml: unknown key 'latent_size'"):
        load(path, get_family(name).config_class)
