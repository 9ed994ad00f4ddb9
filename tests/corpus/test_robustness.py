"""Bad input, killed imports and concurrent imports never damage a corpus."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from composer.corpus import Corpus
from composer.corpus.tfrecord import read_records
from composer.errors import CorpusError


def _truncated_midi(path: Path, make_midi) -> Path:
    data = make_midi(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _random_bytes(path: Path, make_midi) -> Path:
    path.write_bytes(np.random.default_rng(0).bytes(512))
    return path


def _empty_midi(path: Path, make_midi) -> Path:
    return make_midi(path, pitches=(60,), repeats=0)


def _zero_length_wav(path: Path, make_midi) -> Path:
    sf.write(str(path), np.zeros(0, dtype=np.float32), 16000)
    return path


def _nan_wav(path: Path, make_midi) -> Path:
    sf.write(str(path), np.full(1000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    return path


def _unsupported(path: Path, make_midi) -> Path:
    path.write_text("not music")
    return path


def _bad_abc_tune(path: Path, make_midi) -> Path:
    path.write_text("X:1\nT:Good\nL:1/4\nK:C\nCDEF|\n\nX:2\nT:Bad\nL:1/4\nK:C\n% no notes at all\n")
    return path


BAD_INPUTS = [  # (maker, file name, expected reason, stored as an error row)
    (_truncated_midi, "truncated.mid", "(?i)midi", True),
    (_random_bytes, "noise.mid", "(?i)midi", True),
    (_empty_midi, "empty.mid", "no notes", True),
    (_zero_length_wav, "empty.wav", "(?i)no samples|cannot read", True),
    (_nan_wav, "nan.wav", "NaN", True),
    (_unsupported, "score.pdf", "unsupported extension '.pdf'", False),
    (_bad_abc_tune, "tunes.abc", "(?i)no notes", True),
]


@pytest.mark.parametrize("maker, name, reason, stored", BAD_INPUTS, ids=[b[1] for b in BAD_INPUTS])
def test_bad_input_is_recorded_and_never_stops_the_import(corpus_root, tmp_path, make_midi,
                                                          maker, name, reason, stored):
    bad = maker(tmp_path / name, make_midi)
    good = make_midi(tmp_path / "good.mid")
    corpus = Corpus.create("c", root=corpus_root)
    summary = corpus.import_paths([bad, good])
    (error,) = summary.errors
    assert str(bad) in error["source"] and "\n" not in error["reason"]
    assert re.search(reason, error["reason"])
    assert summary.imported == 1 + (name == "tunes.abc") and "imported" in summary.line()
    assert len(corpus.errors()) == int(stored)
    assert len(corpus.info()["errors"]) == int(stored)
    if stored:  # a file that failed is tried again, so --strict sees it (issue 17 item 7)
        again = corpus.import_paths([bad])
        assert (again.imported, len(again.errors), len(corpus.errors())) == (0, 1, 1)
    else:
        with pytest.raises(CorpusError, match="no MIDI, MusicXML, ABC or audio files to import"):
            corpus.import_paths([bad])
    with pytest.raises(CorpusError, match="1 import errors"):
        Corpus.create("strict", root=corpus_root).import_paths([bad, good], strict=True)


def _import_in_child(root: str, sources: list[str], jobs: int) -> None:
    Corpus.create("shared", root=root).import_paths(sources, jobs=jobs)


def _consistent(corpus: Corpus) -> list[dict]:
    """Every stored row has a readable data file, and no id appears twice."""
    rows = corpus.items()
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        assert next(read_records(corpus.item_path(row)))
    return rows


def _bach_sources(bach_corpus, count: int) -> list[str]:
    return [row["source"] for row in bach_corpus.items()][:count]


def test_killed_import_leaves_a_consistent_manifest_and_resumes(corpus_root, bach_corpus):
    sources = _bach_sources(bach_corpus, 24)
    context = multiprocessing.get_context("fork")
    child = context.Process(target=_import_in_child, args=(str(corpus_root), sources, 1))
    child.start()
    manifest = corpus_root / "shared" / "manifest.sqlite"
    stored = 0
    while stored < 3 and child.is_alive():
        time.sleep(0.005)
        with contextlib.suppress(sqlite3.OperationalError), sqlite3.connect(manifest, timeout=30) as conn:
            stored = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    assert child.is_alive(), "the import finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    corpus = Corpus.open("shared", root=corpus_root)
    partial = _consistent(corpus)
    assert 3 <= len(partial) < 24
    summary = corpus.import_paths(sources)
    assert (summary.imported, summary.skipped, summary.errors) == (24 - len(partial), len(partial), [])
    assert {row["id"] for row in _consistent(corpus)} == {row["id"] for row in bach_corpus.items()}


def test_two_imports_into_one_corpus_at_once(corpus_root, bach_corpus):
    sources = _bach_sources(bach_corpus, 12)
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_import_in_child, args=(str(corpus_root), part, 1))
                for part in (sources[:8], sources[4:])]  # overlapping halves
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    assert [child.exitcode for child in children] == [0, 0]
    rows = _consistent(Corpus.open("shared", root=corpus_root))
    assert len(rows) == 12 and all(row["status"] == "ok" for row in rows)


def test_temp_files_left_by_a_killed_import_are_cleaned_once_stale(corpus_root, tmp_path, make_midi):
    corpus = Corpus.create("c", root=corpus_root)
    stale, fresh = corpus.items_dir / ".abc.x1.flac", corpus.items_dir / ".def.x2.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half a file")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    corpus.import_paths([make_midi(tmp_path / "s.mid")])
    assert not stale.exists() and fresh.exists()  # a fresh one may belong to an import running now
