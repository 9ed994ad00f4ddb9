"""The ``generate`` options the event families share (``composer.options``): primer pitches,
controls, nucleus sampling, beam search, guidance and how the MIDI is written."""

from __future__ import annotations

import functools

from composer.options import GenerateOption, common_options, histograms, numbers

CONDITIONED = "(conditioned)"
MAX_DENSITY = 64.0  # notes/s: several times the busiest piano writing


def _pitches(text: str) -> list[int]:
    return [int(pitch) for pitch in numbers(text, flag="--primer-pitches")]


def event_options(*, engine: GenerateOption) -> tuple[GenerateOption, ...]:
    """Every option of the event families' ``generate`` (``composer.symbolic.sampling.generate``);
    ``engine`` is the family's own: which sampling engines it has, the default first."""
    return (
        *common_options(seconds=30.0, primer="MIDI file to continue."),
        GenerateOption("primer_pitches", str, "e.g. 60,64,67.", parse=_pitches),
        GenerateOption("density", str, f"{CONDITIONED} notes/s, or a list spread over the piece.",
                       parse=functools.partial(numbers, flag="--density"), low=0.0, high=MAX_DENSITY),
        GenerateOption("key", str, f"{CONDITIONED} e.g. 'D minor', or keys separated by ';'.",
                       parse=lambda text: text.split(";")),
        GenerateOption("pitch_histogram", str, f"{CONDITIONED} 12 numbers; groups separated by ';'.",
                       parse=histograms),
        GenerateOption("top_p", float, "nucleus sampling.", low=0.0, high=1.0, open_low=True),
        GenerateOption("beam", int, "beam search width.", low=1),
        engine,
        GenerateOption("guidance", float, f"{CONDITIONED[:-1]}, control_dropout > 0): classifier-free guidance "
                       "scale; > 1 follows the controls more closely.", low=0.0),
        GenerateOption("open_loop", bool, "(with --density): give the model the asked density as it is, without "
                       "the feedback that keeps each piece near it.", default=False),
        GenerateOption("ngram_mix", bool, "(trained with ngram_mix): mix the run's n-gram into sampling, or not "
                       "(default: as trained)."),
        GenerateOption("quantize", int, "also write a copy snapped to this grid (e.g. 16)."),
        GenerateOption("musicxml", bool, "also write MusicXML.", default=False),
        GenerateOption("program", int, "GM program of the track.", low=0, high=127),
    )
