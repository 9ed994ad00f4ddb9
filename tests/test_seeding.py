"""composer.seeding: an int seed is used as given, None is fresh entropy, out of range is refused."""

from __future__ import annotations

import pytest

from composer.errors import ConfigError
from composer.seeding import SEED_LIMIT, resolve_seed


def test_int_seeds_are_used_as_given_and_none_draws_a_fresh_one():
    assert resolve_seed(0) == 0 and resolve_seed(5) == 5 and resolve_seed(SEED_LIMIT - 1) == SEED_LIMIT - 1
    fresh = {resolve_seed(None) for _ in range(8)}
    assert len(fresh) > 1 and all(0 <= seed < SEED_LIMIT for seed in fresh)


@pytest.mark.parametrize("seed", [-1, SEED_LIMIT])
def test_out_of_range_seeds_are_refused(seed):
    with pytest.raises(ConfigError, match=f"--seed must be within 0..{SEED_LIMIT - 1}, got {seed}"):
        resolve_seed(seed)
