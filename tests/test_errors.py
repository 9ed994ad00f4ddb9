"""check_range: the one shape of an argument check, its bounds written as a reader expects them."""

import pytest

from composer.errors import ConfigError, CorpusError, check_range


@pytest.mark.parametrize("value, bounds, message", [
    (3, {"low": 1, "high": 64}, None),
    (0, {"low": 1, "high": 64}, "n must be within 1..64, got 0"),
    (0.0, {"low": 0, "high": 3600, "open_low": True}, "n must be within (0, 3600], got 0.0"),
    (1e9, {"low": 0, "high": 3600, "open_low": True}, "n must be within (0, 3600], got 1000000000.0"),
    (float("nan"), {"low": 0, "high": 3600, "open_low": True}, "n must be within (0, 3600], got nan (not a number)"),
    (float("nan"), {}, "n must be a number, got nan (not a number)"),
    (-1.0, {"low": 0, "open_low": True}, "n must be positive, got -1.0"),
    (2.0, {"high": 1.0}, "n must be <= 1.0, got 2.0"),
    (1.0, {"high": 1.0, "open_high": True}, "n must be < 1.0, got 1.0"),
    (1, {"low": 2, "note": "(files)"}, "n must be >= 2 (files), got 1"),
])
def test_check_range(value, bounds, message):
    if message is None:
        check_range("n", value, **bounds)
        return
    with pytest.raises(ConfigError) as info:
        check_range("n", value, **bounds)
    assert str(info.value) == message


def test_check_range_raises_the_asked_error():
    with pytest.raises(CorpusError, match="limit must be >= 1 files, got 0"):
        check_range("limit", 0, low=1, note="files", error=CorpusError)
