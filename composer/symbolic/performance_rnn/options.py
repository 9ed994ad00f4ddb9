"""What the Performance RNN's ``generate`` takes (``composer.options``): the event options, on
either engine, the int8 one by default."""

from composer.options import GenerateOption
from composer.symbolic.options import event_options

GENERATE_OPTIONS = event_options(engine=GenerateOption(
    "engine", str, "'tflite' (int8 weights, fast) or 'tf' (float32).", default="tflite"))
