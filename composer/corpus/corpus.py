"""A corpus on disk: ``<root>/<name>/`` with manifest.sqlite, items/ and cache/.

Symbolic items are NoteSequences in ``items/<id>.tfrecord`` (Magenta-compatible); audio items
are mono FLAC at the corpus sample rate in ``items/<id>.flac``. The readers serve the chunks of
one split (see ``composer.corpus.splits``) in a fixed order (by item id, then chunk index).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from composer.corpus import ingest, manifest, splits
from composer.corpus.ingest import ImportSummary
from composer.corpus.tfrecord import read_records
from composer.errors import CorpusError, check_range

if TYPE_CHECKING:
    from note_seq import NoteSequence

MANIFEST = "manifest.sqlite"
KINDS = ("symbolic", "audio")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def corpus_root(root: str | os.PathLike | None = None) -> Path:
    """Where corpora live: ``root`` if given, else $COMPOSER_CORPUS_ROOT, else ./corpora."""
    return Path(root if root is not None else os.environ.get("COMPOSER_CORPUS_ROOT") or "corpora")


def list_corpora(*, root: str | os.PathLike | None = None) -> list[dict]:
    """Every corpus under the root, by name: ``[{"name", "items", "path"}]`` (items: stored ok)."""
    base = corpus_root(root)
    found = []
    for path in sorted(base.iterdir()) if base.is_dir() else []:
        if (path / MANIFEST).is_file():
            with contextlib.closing(manifest.connect(path / MANIFEST)) as conn:
                (count,) = conn.execute("SELECT COUNT(*) FROM items WHERE status = 'ok'").fetchone()
            found.append({"name": path.name, "items": count, "path": str(path)})
    return found


class Corpus:
    """Handle on one corpus folder; cheap to create, opens SQLite per operation (fork-safe)."""

    def __init__(self, path: Path, settings: dict[str, str]) -> None:
        self.path = path
        self.name = path.name
        self.sample_rate = int(settings["sample_rate"])
        self.chunk_s = float(settings["chunk_s"])
        self.eval_ratio = float(settings["eval_ratio"])
        self.split_unit = settings["split_unit"]
        self.items_dir = path / "items"
        self.cache_dir = path / "cache"
        self.items_dir.mkdir(exist_ok=True)
        self.cache_dir.mkdir(exist_ok=True)

    @classmethod
    def create(cls, name: str, *, root: str | os.PathLike | None = None, sample_rate: int = 16000,
               chunk_s: float = 30.0, eval_ratio: float = 0.1, split_unit: str = "chunk") -> Corpus:
        """Create the corpus ``name`` under the root, or open it if its settings agree.

        Raises:
          CorpusError for a bad name or setting, or settings that differ from the stored ones.
        """
        wanted = _settings(sample_rate=sample_rate, chunk_s=chunk_s, eval_ratio=eval_ratio, split_unit=split_unit)
        path = corpus_root(root) / _check_name(name)
        path.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(manifest.connect(path / MANIFEST)) as conn:
            stored = manifest.init_settings(conn, wanted)
        differ = [f"{key}={stored.get(key)} (asked {value})"
                  for key, value in wanted.items() if stored.get(key) != value]
        if differ:
            raise CorpusError(f"corpus '{name}' at {path} exists with other settings: {', '.join(differ)}")
        return cls(path, stored)

    @classmethod
    def open(cls, name: str, *, root: str | os.PathLike | None = None) -> Corpus:
        """Open an existing corpus; CorpusError naming the root and the corpora there if missing."""
        path = corpus_root(root) / _check_name(name)
        if not (path / MANIFEST).is_file():
            names = ", ".join(entry["name"] for entry in list_corpora(root=root)) or "none"
            raise CorpusError(f"no corpus '{name}' under {corpus_root(root)} (available: {names})")
        with contextlib.closing(manifest.connect(path / MANIFEST)) as conn:
            return cls(path, manifest.settings(conn))

    def __repr__(self) -> str:
        return f"Corpus({self.name!r}, path={str(self.path)!r})"

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh manifest connection, closed on exit."""
        with contextlib.closing(manifest.connect(self.path / MANIFEST)) as conn:
            yield conn

    def import_paths(self, paths: Iterable[str | os.PathLike], *, jobs: int = 1, strict: bool = False,
                     progress: bool = False) -> ImportSummary:
        """Import files and folders (recursively); bad files become error rows, never stop it.

        Args:
          paths: files or folders of MIDI, MusicXML, ABC or audio.
          jobs: worker processes that parse; the manifest is written by this process.
          strict: raise CorpusError at the end if anything failed.
          progress: show a progress bar.
        """
        summary = ImportSummary()
        files = ingest.collect_files(paths, summary)
        with self.connect() as conn:
            ingest.import_files(conn, files, items_dir=self.items_dir, sample_rate=self.sample_rate,
                                chunk_s=self.chunk_s, jobs=jobs, progress=progress, summary=summary)
        if strict:
            summary.raise_if_errors()
        return summary

    def items(self, kind: str | None = None, *, status: str = "ok") -> list[dict]:
        """Manifest rows (dicts of ``manifest.ITEM_COLUMNS``) ordered by id."""
        query = "SELECT * FROM items WHERE status = ?" + (" AND kind = ?" if kind else "") + " ORDER BY id"
        with self.connect() as conn:
            return [dict(row) for row in conn.execute(query, (status, kind) if kind else (status,))]

    def item_path(self, row: dict) -> Path:
        return self.items_dir / f"{row['id']}.{'tfrecord' if row['kind'] == 'symbolic' else 'flac'}"

    def chunks(self, row: dict, split: str) -> list[tuple[float, float]]:
        """(start_s, end_s) of the chunks of item ``row`` that belong to ``split``."""
        _check_split(split)
        chunks = splits.split_chunks(row["split_key"], row["duration_s"], chunk_s=self.chunk_s,
                                     eval_ratio=self.eval_ratio, split_unit=self.split_unit, count=row["n_chunks"])
        return [(chunk.start_s, chunk.end_s) for chunk in chunks if chunk.split == split]

    def sequences(self, split: str) -> Iterator[NoteSequence]:
        """Each symbolic chunk of ``split`` as a NoteSequence whose times start at 0 (seconds)."""
        from note_seq import NoteSequence, sequences_lib

        _check_split(split)
        for row in self.items("symbolic"):
            chunks = self.chunks(row, split)
            if not chunks:
                continue
            sequence = NoteSequence.FromString(next(read_records(self.item_path(row))))
            for start_s, end_s in chunks:
                whole = start_s == 0 and end_s >= row["duration_s"]
                yield sequence if whole else sequences_lib.extract_subsequence(sequence, start_s, end_s)

    def audio(self, split: str) -> Iterator[np.ndarray]:
        """Each audio chunk of ``split``: float32 [n_samples] at ``sample_rate``."""
        _check_split(split)
        for row in self.items("audio"):
            chunks = self.chunks(row, split)
            if not chunks:
                continue
            with sf.SoundFile(str(self.item_path(row))) as stored:  # read only this split's chunks
                for start_s, end_s in chunks:
                    stored.seek(round(start_s * self.sample_rate))
                    yield stored.read(round(end_s * self.sample_rate) - stored.tell(), dtype="float32")

    def chunk_counts(self) -> dict[str, dict[str, int]]:
        """Chunks per split and kind: ``{"train": {"symbolic", "audio"}, "eval": {...}}``."""
        counts = {split: dict.fromkeys(KINDS, 0) for split in splits.SPLITS}
        for row in self.items():
            for split in splits.SPLITS:
                counts[split][row["kind"]] += len(self.chunks(row, split))
        return counts

    def fingerprint(self) -> str:
        """Changes whenever the stored items or split settings change: a key for caches."""
        settings = f"{self.sample_rate}|{self.chunk_s}|{self.eval_ratio}|{self.split_unit}|{splits.RULE_VERSION}"
        digest = hashlib.sha256(settings.encode())
        with self.connect() as conn:
            for (item_id,) in conn.execute("SELECT id FROM items WHERE status = 'ok' ORDER BY id"):
                digest.update(item_id.encode())
        return digest.hexdigest()[:16]

    def errors(self) -> list[dict]:
        """Items that failed to import: ``[{"source", "reason"}]``."""
        return [{"source": row["source"], "reason": row["error"]} for row in self.items(status="error")]

    def info(self) -> dict:
        """Summary with the keys of docs/interfaces.md (name, items, splits, hours_audio, notes, errors)."""
        rows = self.items()
        counts = self.chunk_counts()
        return {
            "name": self.name, "path": str(self.path), "sample_rate": self.sample_rate, "chunk_s": self.chunk_s,
            "eval_ratio": self.eval_ratio, "split_unit": self.split_unit,
            "items": {"total": len(rows), **{kind: sum(r["kind"] == kind for r in rows) for kind in KINDS}},
            "splits": {split: sum(counts[split].values()) for split in splits.SPLITS},
            "chunks": counts,
            "hours_audio": sum(r["duration_s"] for r in rows if r["kind"] == "audio") / 3600.0,
            "notes": sum(r["notes"] or 0 for r in rows if r["kind"] == "symbolic"),
            "transcribed": _transcribed(rows),
            "fingerprint": self.fingerprint(),
            "errors": self.errors(),
        }


def _transcribed(rows: list[dict]) -> dict:
    """How many recordings (audio items that are no rendering) have a MIDI twin: ``{"recordings",
    "transcribed", "share"}``."""
    recordings = {r["id"] for r in rows if r["kind"] == "audio" and r["source_id"] is None}
    done = {r["source_id"] for r in rows if r["kind"] == "symbolic"} & recordings
    return {"recordings": len(recordings), "transcribed": len(done),
            "share": len(done) / len(recordings) if recordings else 0.0}


def _check_split(split: str) -> None:
    if split not in splits.SPLITS:
        raise CorpusError(f"unknown split '{split}' (allowed: {', '.join(splits.SPLITS)})")


def _check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise CorpusError(f"bad corpus name '{name}' (use letters, digits, '_', '-', '.'; not starting with '.')")
    return name


def _settings(*, sample_rate: int, chunk_s: float, eval_ratio: float, split_unit: str) -> dict[str, str]:
    """Validated settings as the strings the manifest stores."""
    if int(sample_rate) != sample_rate or sample_rate < 1000:
        raise CorpusError(f"sample_rate must be an integer >= 1000 Hz, got {sample_rate}")
    check_range("chunk_s", chunk_s, low=0, open_low=True, note="seconds", error=CorpusError)
    check_range("eval_ratio", eval_ratio, low=0.0, high=1.0, error=CorpusError)
    if split_unit not in splits.SPLIT_UNITS:
        raise CorpusError(f"split_unit must be one of {', '.join(splits.SPLIT_UNITS)}, got '{split_unit}'")
    return {"sample_rate": str(int(sample_rate)), "chunk_s": repr(float(chunk_s)),
            "eval_ratio": repr(float(eval_ratio)), "split_unit": split_unit}
