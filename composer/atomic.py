"""Write a file atomically: into a temporary file beside it, renamed over it once complete.

A reader, or a run killed mid-write, never sees half a file under the final name, and an
existing file stays intact until its replacement is whole. ``mkstemp`` creates its file with
mode 0600; the finished file gets the mode a plain ``open`` would give (0666 minus the umask),
so MIDI, audio and reports can be shared like any other file the user writes.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from composer.errors import ComposerError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, sync: bool = False) -> Iterator[BinaryIO]:
    """An open binary file whose content replaces ``path`` when the block ends without error.

    ``sync`` fsyncs the content before the rename, so a machine crash leaves the old file or the
    new one; without it writeback is the kernel's (for files a rerun remakes). The temporary
    file keeps ``path``'s suffix, for writers that pick a format by name.
    """
    path = Path(path)
    check_writable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(path: Path) -> None:
    """ComposerError, before any work is lost, when ``path`` is a folder or lies under a file."""
    if path.is_dir():
        raise ComposerError(f"{path}: is a folder; give a file name inside it")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ComposerError(f"{parent}: is a file, so {path} cannot be written")
            return


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees a half-written file."""
    with atomic_file(path, sync=True) as handle:
        handle.write(text.encode())
