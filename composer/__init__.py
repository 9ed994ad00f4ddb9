"""composer: a MIDI-and-audio hybrid composition toolkit.

Stages live in subpackages: corpus (import and splits), symbolic (Performance RNN, Music
Transformer), audio (LSTM+VAE, SampleRNN), train (the shared harness), render (fluidsynth and
mixing), measures (pure measures) and evaluate (reports). The command line in ``composer.cli`` is
a thin layer on them.
"""

__version__ = "0.1.0"
