"""The SQLite manifest of a corpus: settings and one row per imported item.

WAL mode lets readers run while an import writes, and the busy timeout makes two importers
into one corpus wait for each other instead of failing. Rows are inserted with ``INSERT OR
IGNORE`` on the content-hash id, so the same file imported twice (even by two processes at
once) is stored once.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from composer.errors import CorpusError

BUSY_TIMEOUT_S = 60.0

ITEM_COLUMNS = (
    "id", "file_sha", "source", "kind", "format", "duration_s", "n_chunks", "split_key", "source_id",
    "notes", "pitch_min", "pitch_max", "instruments", "velocity_min", "velocity_max",
    "source_sample_rate", "channels", "peak", "rms", "status", "error",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,             -- sha256 of the file bytes (+ '-<tune index>' for ABC)
    file_sha TEXT,                   -- sha256 of the source file; NULL for rendered audio
    source TEXT NOT NULL,            -- path the item was imported from
    kind TEXT,                       -- 'symbolic' or 'audio' (NULL if unreadable)
    format TEXT,                     -- midi, musicxml, abc, wav, flac, ..., render
    duration_s REAL,
    n_chunks INTEGER,
    split_key TEXT,                  -- what the split hash uses: own id, or the source's for twins
    source_id TEXT,                  -- for rendered audio: the symbolic item it was rendered from
    notes INTEGER, pitch_min INTEGER, pitch_max INTEGER, instruments INTEGER,
    velocity_min INTEGER, velocity_max INTEGER,
    source_sample_rate INTEGER, channels INTEGER, peak REAL, rms REAL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error TEXT,                      -- one-line reason when status = 'error'
    imported_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS items_file_sha ON items (file_sha);
CREATE INDEX IF NOT EXISTS items_source_id ON items (source_id);
"""


def connect(path: Path) -> sqlite3.Connection:
    """Open the manifest at ``path`` (created if missing) in WAL mode with a busy timeout."""
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise CorpusError(f"{path}: not a usable corpus manifest ({exc})") from None
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken eagerly so concurrent writers queue on the busy timeout."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def settings(conn: sqlite3.Connection) -> dict[str, str]:
    return {row["key"]: row["value"] for row in conn.execute("SELECT key, value FROM settings")}


def init_settings(conn: sqlite3.Connection, wanted: dict[str, str]) -> dict[str, str]:
    """Store ``wanted`` unless settings exist already; return what is stored."""
    with transaction(conn):
        conn.executemany("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)", wanted.items())
    return settings(conn)


def insert_items(conn: sqlite3.Connection, rows: list[dict]) -> list[bool]:
    """Insert ``rows`` in one transaction; for each, whether it was new (else already stored).

    Earlier error rows of the same id or source go first: a file that failed is tried again on
    every import, and once a fixed version imports, its old error no longer shows.
    """
    placeholders = ", ".join("?" for _ in ITEM_COLUMNS)
    sql = f"INSERT OR IGNORE INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({placeholders})"
    with transaction(conn):
        for row in rows:
            conn.execute("DELETE FROM items WHERE status = 'error' AND (id = ? OR source = ?)",
                         (row["id"], row["source"]))
        return [conn.execute(sql, tuple(row.get(col) for col in ITEM_COLUMNS)).rowcount == 1 for row in rows]


def stored_file_shas(conn: sqlite3.Connection) -> set[str]:
    """Files already imported without any error (a file that failed, even in part, is tried again)."""
    failed = "SELECT file_sha FROM items WHERE status = 'error' AND file_sha IS NOT NULL"
    return {row[0] for row in conn.execute(f"SELECT DISTINCT file_sha FROM items WHERE file_sha IS NOT NULL "
                                           f"AND file_sha NOT IN ({failed})")}
