"""Built-in recipes and audio twins rendered from symbolic items."""

from __future__ import annotations

import numpy as np
import pytest

from composer.corpus import Corpus, builtin
from composer.errors import CorpusError
from composer.pipeline import render_audio


def test_recipes_are_listed_and_unknown_names_rejected(corpus_root):
    assert {"bach-chorales", "essen-folk"} <= set(builtin.recipes())
    with pytest.raises(CorpusError, match=r"unknown recipe 'jazz' \(available: .*bach-chorales"):
        builtin.build("jazz", "x", root=corpus_root)


def test_bach_recipe_takes_only_musicxml_in_a_fixed_order(bach_corpus):
    files = builtin.load_recipe("bach-chorales").files()
    assert len(files) > 300 and {f.suffix for f in files} == {".mxl"}
    assert sorted(row["source"] for row in bach_corpus.items()) == sorted(str(f) for f in files[:24])
    info = bach_corpus.info()
    assert info["items"]["symbolic"] == 24 and info["errors"] == [] and info["notes"] > 4000
    assert info["splits"]["train"] > 0 and info["splits"]["eval"] > 0
    assert max(row["instruments"] for row in bach_corpus.items()) >= 4  # soprano, alto, tenor, bass parts
    chunk = next(bach_corpus.sequences("train"))
    onsets = [n.start_time for n in chunk.notes]
    assert max(onsets.count(t) for t in onsets) == 4  # four-part chords


def test_essen_recipe_imports_one_item_per_abc_tune(corpus_root):
    corpus = builtin.build("essen-folk", "folk", root=corpus_root, limit=1)
    tunes = corpus.items("symbolic")
    assert len(tunes) > 20 and all(row["format"] == "abc" for row in tunes)
    assert len({row["id"].rsplit("-", 1)[0] for row in tunes}) == 1  # all from the one tunebook
    assert all(row["instruments"] == 1 for row in tunes)  # monophonic melodies


@pytest.mark.parametrize("jobs", [1, 2])
def test_render_audio_adds_one_twin_per_symbolic_item_in_the_same_split(corpus_root, tmp_path, make_midi, jobs):
    corpus = Corpus.create("twins", root=corpus_root, sample_rate=8000, chunk_s=2.0, eval_ratio=0.3)
    corpus.import_paths([make_midi(tmp_path / "a.mid", repeats=2), make_midi(tmp_path / "b.mid", pitches=(50, 55))])
    summary = render_audio(corpus, jobs=jobs)
    assert (summary.imported, summary.errors) == (2, [])
    twins = {row["source_id"]: row for row in corpus.items("audio")}
    for source in corpus.items("symbolic"):
        twin = twins[source["id"]]
        assert twin["split_key"] == source["split_key"] and twin["format"] == "render"
        assert source["duration_s"] <= twin["duration_s"] <= source["duration_s"] + 5.0  # release tail
        assert 0.01 < twin["peak"] <= 1.0
    symbolic_eval = corpus.chunk_counts()["eval"]["symbolic"]
    assert len(list(corpus.audio("eval"))) == symbolic_eval  # the same chunks held out in both forms
    audio = np.concatenate(list(corpus.audio("train")) + list(corpus.audio("eval")))
    assert audio.dtype == np.float32 and np.abs(audio).max() > 0.01
    again = render_audio(corpus)
    assert (again.imported, again.skipped) == (0, 2)
    with pytest.raises(CorpusError, match="soundfont .*missing.sf2 not found"):
        render_audio(corpus, soundfont=tmp_path / "missing.sf2")


def test_builtin_can_hold_whole_pieces_out(corpus_root, capfd, monkeypatch):
    """By chunk, each chorale keeps a few seconds of itself for eval; by item, whole chorales are held out."""
    import sys

    from composer.cli import main

    def run(*argv: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["composer", "corpus", "builtin", "bach-chorales", "--root", str(corpus_root),
                                          "--limit", "30", *argv])
        with pytest.raises(SystemExit) as stopped:
            main()
        return stopped.value.code, capfd.readouterr().err

    assert run("--corpus", "whole", "--split-unit", "item")[0] == 0
    corpus = Corpus.open("whole", root=corpus_root)
    assert corpus.info()["split_unit"] == "item"
    splits = [{split for split in ("train", "eval") if corpus.chunks(row, split)} for row in corpus.items()]
    assert all(len(s) == 1 for s in splits) and {"train"} in splits and {"eval"} in splits
    code, err = run("--corpus", "other", "--split-unit", "piece")
    assert code == 1 and "split_unit must be one of chunk, item, got 'piece'" in err
    assert not (corpus_root / "other").exists()
