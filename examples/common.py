"""The options every example shares: where the run goes, the corpus root, the preset, the steps."""

import argparse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def add_run_options(parser: argparse.ArgumentParser, *, preset: str) -> None:
    """--out (the run directory), --root, --config (default: ``preset`` under configs/) and --steps."""
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument("--root", type=Path, help="corpus root (default: $COMPOSER_CORPUS_ROOT, else ./corpora)")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / preset)
    parser.add_argument("--steps", type=int, help="override the preset's training steps")
