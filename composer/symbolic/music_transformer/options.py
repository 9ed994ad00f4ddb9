"""What the Music Transformer's ``generate`` takes (``composer.options``): the event options, on
the float32 engine only (its step's state, the key/value cache, is too large for LiteRT)."""

from composer.options import GenerateOption
from composer.symbolic.options import event_options

GENERATE_OPTIONS = event_options(engine=GenerateOption("engine", str, "'tf' (float32) only.", default="tf"))
