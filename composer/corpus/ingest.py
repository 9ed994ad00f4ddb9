"""Import driver: walk the sources, parse in worker processes, commit rows in the parent.

Workers write each item's data file atomically and return its rows; the parent commits the rows
of one source file in one transaction. A killed import therefore leaves only complete items in
the manifest (at worst an unreferenced data file), and the next import skips every file whose
content hash is already stored and picks up the rest.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer.corpus import manifest
from composer.corpus.importers import PARSER_MODULES, SUPPORTED, Task, file_sha, run_task
from composer.errors import CorpusError
from composer.progress import progress_bar

STALE_TEMP_S = 3600.0
FORK_UNSAFE_MODULES = ("tensorflow", "fluidsynth", "ai_edge_litert")  # start threads a fork would copy mid-lock


@dataclass
class ImportSummary:
    """What one import did: counts of stored and already-present items, and every failure."""

    imported: int = 0
    skipped: int = 0
    errors: list[dict] = field(default_factory=list)  # {"source", "reason"}
    ignored: int = 0  # files of other types met while walking folders

    def line(self) -> str:
        """One line for humans: 'N imported, M skipped, K errors'."""
        text = f"{self.imported} imported, {self.skipped} skipped, {len(self.errors)} errors"
        if self.ignored:
            text += f", {self.ignored} ignored (not a supported type)"
        return text

    def raise_if_errors(self) -> None:
        """CorpusError naming the first failure, for ``strict`` imports."""
        if self.errors:
            first = self.errors[0]
            raise CorpusError(f"{len(self.errors)} import errors ({self.line()}); "
                              f"first: {first['source']}: {first['reason']}")


def collect_files(paths: Iterable[str | os.PathLike], summary: ImportSummary) -> list[Path]:
    """Supported files under ``paths`` in sorted order (folders walked recursively, hidden skipped).

    A file named explicitly with an unsupported extension is an error in ``summary``;
    unsupported files met inside folders are only counted as ignored.

    Raises:
      CorpusError for a path that does not exist, or when there is nothing to import at all.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise CorpusError(f"{path}: no such file or folder")
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path))):
                if sub.suffix.lower() in SUPPORTED:
                    found.append(sub)
                else:
                    summary.ignored += 1
        elif path.suffix.lower() not in SUPPORTED:
            allowed = " ".join(sorted(SUPPORTED))
            summary.errors.append({"source": str(path),
                                   "reason": f"unsupported extension '{path.suffix}' (allowed: {allowed})"})
        else:
            found.append(path)
    if not found:
        names = ", ".join(str(p) for p in paths)
        raise CorpusError(f"{names}: no MIDI, MusicXML, ABC or audio files to import "
                          f"(supported: {' '.join(sorted(SUPPORTED))})")
    return list(dict.fromkeys(found))


def import_files(conn: sqlite3.Connection, files: list[Path], *, items_dir: Path, sample_rate: int, chunk_s: float,
                 jobs: int, progress: bool, summary: ImportSummary) -> ImportSummary:
    """Import ``files`` (already filtered to supported types) into the corpus behind ``conn``."""
    remove_stale_temps(items_dir)
    stored = manifest.stored_file_shas(conn)
    tasks = []
    for path in files:
        try:
            sha = file_sha(path)
        except OSError as exc:  # unreadable (permissions, vanished): recorded, the rest still imports
            summary.errors.append({"source": str(path), "reason": f"cannot read the file ({exc.strerror or exc})"})
            continue
        if sha in stored:
            summary.skipped += 1
        else:
            stored.add(sha)  # the same bytes under two names: import once
            tasks.append(Task(str(path), sha, str(items_dir), sample_rate, chunk_s))
    with progress_bar(progress, len(tasks), "importing") as advance, \
            contextlib.closing(run_parallel(run_task, tasks, jobs)) as results:  # Ctrl-C here stops the workers
        for rows in results:
            record_rows(conn, rows, summary)
            advance()
    return summary


def remove_stale_temps(items_dir: Path, *, max_age_s: float = STALE_TEMP_S) -> int:
    """Delete temp files a killed import left in ``items_dir`` (hidden, older than ``max_age_s``);
    younger ones may belong to an import running now. Returns how many were removed."""
    now = time.time()
    stale = [p for p in items_dir.glob(".*") if p.is_file() and now - p.stat().st_mtime > max_age_s]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def record_rows(conn: sqlite3.Connection, rows: list[dict], summary: ImportSummary) -> None:
    """Commit the rows of one source file in one transaction and count them in ``summary``."""
    for row, is_new in zip(rows, manifest.insert_items(conn, rows)):
        if not is_new:
            summary.skipped += 1
        elif row["status"] == "ok":
            summary.imported += 1
        else:
            summary.errors.append({"source": row["source"], "reason": row["error"]})



def run_parallel(function: Callable[[Any], list[dict]], tasks: list, jobs: int) -> Iterator[list[dict]]:
    """``function(task)`` for every task, in ``jobs`` worker processes; results as they finish.

    ``function`` must be a module-level function (or a partial of one) so workers can unpickle it.
    Close the generator (``contextlib.closing``) so that an exception in the caller's loop stops
    the workers at once, not when the interpreter exits.
    """
    if jobs <= 1 or len(tasks) <= 1:
        yield from map(function, tasks)
        return
    for module in PARSER_MODULES:  # before forking, so no worker pays the import
        importlib.import_module(module)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=_leave_ctrl_c_to_the_parent)
    try:
        for future in as_completed([pool.submit(function, task) for task in tasks]):
            yield future.result()
    except BaseException:  # Ctrl-C, a failure, or the caller stopped: no worker outlives it
        _terminate(pool)
        raise
    pool.shutdown()


def _leave_ctrl_c_to_the_parent() -> None:
    """Workers ignore SIGINT: a terminal sends it to them too, and a worker dying of it would break
    the pool mid-task; the parent stops them all (``_terminate``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Drop the queued tasks and kill the workers now: a plain shutdown would wait until every
    task already handed to a worker had finished (a tunebook of ABC takes minutes)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public handle before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


def _context() -> multiprocessing.context.BaseContext:
    """fork is cheapest (parsers already imported); once TensorFlow or fluidsynth has started
    threads in this process, a forked child can deadlock on a lock one of them held, so use a
    fork server that preloads only the importers."""
    threaded = [name for name in FORK_UNSAFE_MODULES if name in sys.modules]
    if not threaded and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["composer.corpus.forkserver_setup", *PARSER_MODULES, "composer.corpus.importers"])
    return context


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)
