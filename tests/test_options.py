"""What each family declares its generate takes (composer.options), and how the CLI merges it."""

import inspect
from pathlib import Path

import pytest

from composer.errors import ComposerError
from composer.generate import options_of
from composer.options import GenerateOption, check_values, histograms, numbers, shared_options
from composer.train.family import FAMILIES, get_family

SHIPPED = [name for name, target in FAMILIES.items() if target.startswith("composer.")]  # not the tests' toy families


@pytest.mark.parametrize("model", SHIPPED)
def test_a_family_declares_exactly_what_its_generate_takes(model):
    parameters = inspect.signature(get_family(model).generate).parameters
    taken = {name: p.default for name, p in parameters.items() if name not in ("run_dir", "out")}
    declared = {option.name: option for option in options_of(model)}
    assert set(declared) == set(taken)
    for name, option in declared.items():  # None on either side: decided at run time, as the help says
        if option.default is not None and taken[name] is not None:
            assert option.default == taken[name], f"{model} {option.flag}: {option.default} != {taken[name]}"


def test_every_registered_family_declares_options():
    assert len(SHIPPED) == 4
    assert all(any(o.name == "seconds" for o in options_of(name)) for name in SHIPPED)


def test_unknown_model_is_the_registrys_error():
    with pytest.raises(ComposerError, match="unknown model 'nope' \\(valid: performance-rnn"):
        options_of("nope")


def option(name, help_text="h", **kwargs):
    return GenerateOption(name, kwargs.pop("kind", float), help_text, **kwargs)


def test_shared_options_label_help_and_defaults_by_family():
    declared = {"a": [option("seconds", "length", default=30.0), option("top_p", "nucleus")],
                "b": [option("seconds", "length", default=30.0), option("top_p", "nucleus")],
                "c": [option("seconds", "length", default=10.0), option("keep", "keep it", kind=bool, default=False)]}
    shared = {s.option.name: s for s in shared_options(declared)}
    assert list(shared) == ["seconds", "top_p", "keep"]                       # order of first declaration
    assert (shared["seconds"].help, shared["seconds"].defaults) == ("length", "30; c 10")
    assert (shared["top_p"].help, shared["top_p"].defaults) == ("a, b: nucleus", None)
    assert (shared["keep"].help, shared["keep"].defaults) == ("c: keep it", None)   # a flag's False is no default


def test_defaults_left_to_the_run_are_not_shown_bare():
    declared = {"a": [option("temperature")], "b": [option("temperature", default=1.0)]}
    (shared,) = shared_options(declared)
    assert shared.defaults == "b 1"


def test_families_must_agree_on_an_options_kind_and_range():
    declared = {"a": [option("beam", kind=int, low=1)], "b": [option("beam", kind=int, low=2)]}
    with pytest.raises(ValueError, match="b and a declare --beam with another kind or range"):
        shared_options(declared)


@pytest.mark.parametrize("text, parse, value", [
    ("4", lambda t: numbers(t, flag="--density"), [4.0]),
    ("2, 4,8", lambda t: numbers(t, flag="--density"), [2.0, 4.0, 8.0]),
    ("1 2 3 4 5 6 7 8 9 10 11 12", histograms, [[float(i) for i in range(1, 13)]]),
])
def test_list_options_parse(text, parse, value):
    assert parse(text) == value


@pytest.mark.parametrize("call, message", [
    (lambda: numbers("2,x", flag="--density"), "--density must be numbers separated by commas, got '2,x'"),
    (lambda: histograms("1 2 3"), "--pitch-histogram needs 12 numbers per group (groups separated by ';'), "
                                  "got '1 2 3'"),
])
def test_bad_lists_are_one_line_errors(call, message):
    with pytest.raises(ComposerError) as error:
        call()
    assert str(error.value) == message


def test_text_is_parsed_and_values_pass_through():
    (key,) = [o for o in options_of("performance-rnn") if o.name == "key"]
    (pitches,) = [o for o in options_of("performance-rnn") if o.name == "primer_pitches"]
    assert key.value("D minor;A minor") == ["D minor", "A minor"] and key.value(["E major"]) == ["E major"]
    assert pitches.value("60,64,67") == [60, 64, 67]
    assert option("primer", kind=Path).value(Path("x.mid")) == Path("x.mid")


@pytest.mark.parametrize("value, message", [
    (0.5, None),
    (1.0, None),
    (None, None),                                              # not given: the run decides
    (0.0, "--top-p must be within (0.0, 1.0], got 0.0"),       # the open bound is left out
    (float("nan"), "--top-p must be within (0.0, 1.0], got nan (not a number)"),
    ([0.5, 1.5], "--top-p must be within (0.0, 1.0], got 1.5"),  # each element of a list
])
def test_an_option_checks_its_one_range(value, message):
    top_p = option("top_p", low=0.0, high=1.0, open_low=True)
    if message is None:
        top_p.check(value)
        return
    with pytest.raises(ComposerError) as error:
        top_p.check(value)
    assert str(error.value) == message


def test_check_values_names_flags_or_the_studios_fields():
    declared = [option("temperature", low=0.0, high=5.0), option("primer", kind=Path)]
    check_values(declared, {"temperature": 5.0, "primer": Path("x.mid")})
    with pytest.raises(ComposerError, match=r"^--temperature must be within \[0.0, 5.0\], got 7.0$"):
        check_values(declared, {"temperature": 7.0})
    with pytest.raises(ComposerError, match=r"^temperature must be within \[0.0, 5.0\], got 7.0$"):
        check_values(declared, {"temperature": 7.0}, fields=True)


@pytest.mark.parametrize("model", SHIPPED)
def test_every_family_bounds_the_common_options_alike(model):
    """One range per value: temperature, num and seed are bounded the same for every family."""
    bounded = {o.name: (o.low, o.high) for o in options_of(model) if o.name in ("temperature", "num", "seed")}
    assert bounded == {"temperature": (0.0, 5.0), "num": (1, 64), "seed": (0, 2**31 - 1)}
