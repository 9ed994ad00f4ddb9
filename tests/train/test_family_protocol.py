"""Every registered family implements the whole ModelFamily protocol (a family is a folder plus a registry line)."""

from __future__ import annotations

import inspect

import pytest

from composer.train.family import FAMILIES, ModelFamily, get_family

METHODS = [name for name, value in vars(ModelFamily).items() if inspect.isfunction(value) and not name.startswith("_")]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_implements_the_protocol(name):
    family = get_family(name)
    assert family.name == name and isinstance(family.config_class, type)
    assert len(METHODS) >= 7
    for method in METHODS:
        assert callable(getattr(family, method, None)), f"{name} lacks {method}"
