"""One rule for the seed of every generate path: an int is used as given, None draws fresh entropy.

Each family seeds numpy's ``default_rng`` and TensorFlow's stateless ops with the resolved int,
so ``--seed 5`` means the same number everywhere and ``--seed`` left out is a new draw each call.
"""

from __future__ import annotations

import secrets

from composer.errors import ConfigError

SEED_LIMIT = 2**31  # seeds fit a signed 32-bit int (the studio's schema, TF's int32 seeds)


def resolve_seed(seed: int | None) -> int:
    """``seed`` itself, or a fresh random seed for None; in 0 .. SEED_LIMIT - 1."""
    if seed is None:
        return secrets.randbelow(SEED_LIMIT)
    if not 0 <= seed < SEED_LIMIT:
        raise ConfigError(f"--seed must be within 0..{SEED_LIMIT - 1}, got {seed}")
    return int(seed)
