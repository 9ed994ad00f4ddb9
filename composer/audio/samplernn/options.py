"""What SampleRNN's ``generate`` takes (``composer.options``): sample by sample is slow, so a
short default length."""

from composer.audio.options import audio_options

GENERATE_OPTIONS = audio_options(seconds=10.0)
