"""Audio to MIDI: a recording becomes a NoteSequence with Spotify's Basic Pitch (ICASSP 2022).

Its TFLite model runs on LiteRT and its own note post-processing decodes the notes; the package
is installed without its TensorFlow pin (``upstream``). ``transcribe_file`` is the entry point;
``composer.pipeline.transcribe_corpus`` adds MIDI twins to a corpus's recordings.
"""

from composer.transcribe.notes import NoteOptions
from composer.transcribe.transcriber import transcribe_audio, transcribe_file

__all__ = ["NoteOptions", "transcribe_audio", "transcribe_file"]
