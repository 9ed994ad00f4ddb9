"""The inference entry point's helpers that need no model."""

import pretty_midi
import pytest

from composer.generate import primer_end_s
from composer.symbolic.midi import PRIMER_MARKER


@pytest.mark.parametrize("markers, expected", [([("end of primer", 2.5)], 2.5), ([("verse", 1.0)], 0.0), ([], 0.0)])
def test_primer_end_is_the_marker_time(tmp_path, make_midi, markers, expected):
    assert PRIMER_MARKER == "end of primer"
    pm = pretty_midi.PrettyMIDI(str(make_midi(tmp_path / "scale.mid")))
    pm.text_events = [pretty_midi.Text(text, time) for text, time in markers]
    pm.write(str(tmp_path / "marked.mid"))
    assert primer_end_s(tmp_path / "marked.mid") == pytest.approx(expected, abs=0.01)
