"""Split rule: chunking, determinism, one long song in both splits, re-import moves nothing."""

from __future__ import annotations

import numpy as np
import pytest

from composer.corpus import Corpus, splits
from composer.errors import CorpusError


def _assignment(corpus: Corpus) -> dict[tuple[str, float], str]:
    """(item id, chunk start) -> split, for every chunk of the corpus."""
    return {(row["id"], start): split for row in corpus.items() for split in splits.SPLITS
            for start, _ in corpus.chunks(row, split)}


@pytest.mark.parametrize("duration_s, expected", [
    (5.0, [(0.0, 5.0)]), (40.0, [(0.0, 40.0)]), (46.0, [(0.0, 30.0), (30.0, 46.0)]),
    (90.0, [(0.0, 30.0), (30.0, 60.0), (60.0, 90.0)]),
])
def test_chunk_bounds_leave_no_short_tail(duration_s, expected):
    assert splits.chunk_bounds(duration_s, 30.0) == expected


def _eval_s(chunks: list[splits.Chunk]) -> float:
    return sum(c.end_s - c.start_s for c in chunks if c.split == "eval")


def test_long_items_hash_whole_chunks_and_always_hold_one_out():
    for key in (f"item{i}" for i in range(200)):
        chunks = splits.split_chunks(key, 90.0, chunk_s=30.0, eval_ratio=0.001)
        assert [c.split for c in chunks].count("eval") == 1  # at tiny ratios exactly the forced one
        assert splits.split_chunks(key, 60.0, chunk_s=30.0, eval_ratio=0.0) == [
            (0.0, 30.0, "train"), (30.0, 60.0, "train")]
        assert len({c.split for c in splits.split_chunks(key, 150.0, chunk_s=30.0, eval_ratio=0.5,
                                                         split_unit="item")}) == 1


@pytest.mark.parametrize("duration_s", [20.0, 45.0, 70.0, 74.0])
def test_short_items_hold_out_exactly_their_share(duration_s):
    """Regression: a 70 s song (2 chunks) used to import with no eval chunk at all."""
    for key in (f"song{i}" for i in range(50)):
        chunks = splits.split_chunks(key, duration_s, chunk_s=30.0, eval_ratio=0.1)
        assert _eval_s(chunks) == pytest.approx(0.1 * duration_s)
        assert chunks[0].start_s == 0.0 and chunks[-1].end_s == duration_s
        assert all(a.end_s == b.start_s for a, b in zip(chunks, chunks[1:]))  # contiguous, nothing lost
        assert all(c.end_s - c.start_s >= splits.MIN_PIECE_S for c in chunks)


def test_items_too_short_to_score_go_whole_to_one_split():
    keys = [f"tune{i}" for i in range(400)]
    held_out = 0
    for key in keys:
        chunks = splits.split_chunks(key, 15.0, chunk_s=30.0, eval_ratio=0.1)  # 1.5 s share < MIN_EVAL_S
        assert len(chunks) == 1
        held_out += chunks[0].split == "eval"
    assert 20 < held_out < 60  # the hash keeps many short pieces near the ratio


def test_a_70_second_song_imports_with_both_splits(corpus_root, tmp_path, make_wav):
    src = make_wav(tmp_path / "song.wav", seconds=70.0, sample_rate=8000)
    corpus = Corpus.create("song", root=corpus_root, sample_rate=8000, eval_ratio=0.1)
    corpus.import_paths([src])
    held_out, train = list(corpus.audio("eval")), list(corpus.audio("train"))
    assert sum(len(c) for c in held_out) == 7 * 8000
    assert sum(len(c) for c in train + held_out) == 70 * 8000
    assert corpus.info()["splits"]["eval"] == 1


def test_one_long_song_has_both_splits_and_chunks_start_at_zero(corpus_root, tmp_path, make_midi):
    src = make_midi(tmp_path / "long.mid", note_s=0.5, repeats=75)  # 600 notes, 300 s
    corpus = Corpus.create("one", root=corpus_root, eval_ratio=0.1)
    corpus.import_paths([src])
    train, held_out = list(corpus.sequences("train")), list(corpus.sequences("eval"))
    assert len(train) + len(held_out) == 10 and train and held_out
    for chunk in train + held_out:
        assert min(n.start_time for n in chunk.notes) == pytest.approx(0.0)
        assert chunk.total_time <= 30.0 + 1e-6
    assert sum(len(chunk.notes) for chunk in train + held_out) == 600
    assert corpus.chunk_counts()["eval"]["symbolic"] == len(held_out)


def test_long_audio_chunks_cover_the_item(corpus_root, tmp_path, make_wav):
    src = make_wav(tmp_path / "long.wav", seconds=95.0, sample_rate=8000)
    corpus = Corpus.create("a", root=corpus_root, sample_rate=8000, eval_ratio=0.1)
    corpus.import_paths([src])
    train, held_out = list(corpus.audio("train")), list(corpus.audio("eval"))
    assert sorted(len(c) for c in train + held_out) == [240000, 240000, 280000]
    assert held_out, "an item of 3 chunks always sends one to eval"
    with pytest.raises(CorpusError, match="unknown split 'test'"):
        list(corpus.audio("test"))


def test_split_unit_item_keeps_pieces_whole(corpus_root, tmp_path, make_midi):
    for i in range(12):
        make_midi(tmp_path / "src" / f"p{i}.mid", pitches=(60 + i,), note_s=10.0, repeats=9)  # 90 s each
    corpus = Corpus.create("items", root=corpus_root, split_unit="item", eval_ratio=0.3)
    corpus.import_paths([tmp_path / "src"])
    per_item = {}
    for (item_id, _), split in _assignment(corpus).items():
        per_item.setdefault(item_id, set()).add(split)
    assert all(len(s) == 1 for s in per_item.values()) and len(per_item) == 12


def test_reimport_and_additions_never_move_a_chunk(corpus_root, tmp_path, make_midi):
    for i in range(8):
        make_midi(tmp_path / "src" / f"p{i}.mid", pitches=(40 + i, 50 + i), note_s=4.0, repeats=8 + i)
    corpus = Corpus.create("stable", root=corpus_root, eval_ratio=0.25)
    corpus.import_paths([tmp_path / "src"])
    before, fingerprint = _assignment(corpus), corpus.fingerprint()
    assert set(before.values()) == {"train", "eval"}
    assert corpus.import_paths([tmp_path / "src"]).imported == 0
    assert _assignment(corpus) == before and corpus.fingerprint() == fingerprint
    corpus.import_paths([make_midi(tmp_path / "more.mid", pitches=(30,), repeats=50)])
    after = _assignment(Corpus.open("stable", root=corpus_root))
    assert {key: after[key] for key in before} == before and len(after) > len(before)
    assert corpus.fingerprint() != fingerprint
    train = [np.array([n.pitch for n in s.notes]) for s in corpus.sequences("train")]
    assert [t.tolist() for t in train] == [np.array([n.pitch for n in s.notes]).tolist()
                                           for s in corpus.sequences("train")]
