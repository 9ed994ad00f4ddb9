"""What the LSTM+VAE's ``generate`` takes (``composer.options``)."""

from composer.audio.options import audio_options
from composer.options import GenerateOption

GENERATE_OPTIONS = (
    *audio_options(seconds=30.0),
    GenerateOption("keep_primer", bool, "keep the warm-up audio at the start.", default=False),
)
