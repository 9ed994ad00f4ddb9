"""The ``generate`` options the raw-audio families share (``composer.options``)."""

from __future__ import annotations

from composer.options import GenerateOption, common_options

PEAK_DB = -1.0  # every generated file is scaled down to peak at most this (``output.limit_peak``)


def audio_options(*, seconds: float) -> tuple[GenerateOption, ...]:
    """The options every raw-audio family takes, with its default length."""
    return (
        *common_options(seconds=seconds, primer="audio file to continue."),
        GenerateOption("peak_db", float, "scale each file down to peak at most this (dBFS).", default=PEAK_DB,
                       high=0.0),
    )
