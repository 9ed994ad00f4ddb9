"""Evaluation plots read like music: pitch classes by name (issue 17 item 15)."""

from pathlib import Path

import numpy as np

from composer.evaluate import plots


def test_pitch_class_panel_is_labelled_by_note_names(tmp_path: Path, monkeypatch) -> None:
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, out: figures.append(fig) or out)
    probs = {"pitch_class": np.full(12, 1 / 12)}
    plots.plot_distributions({"eval": probs, "generated": probs}, {}, title="t", out=tmp_path / "f.png")
    (ax,) = [ax for ax in figures[0].axes if ax.get_title() == "pitch_class"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A",
                                                            "A#", "B"]
