"""The folders the studio reads and writes, and the one check that keeps every file inside them.

A browser names files by area and relative path (``session/kept/a.mid``); ``resolve`` refuses
anything that would leave its area (``..``, absolute paths, symlinks out), so the server never
serves or writes a file outside its own session, scratch and runs folders.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from composer.errors import ComposerError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class StudioError(ComposerError):
    """A request the studio refuses; ``status`` is the HTTP status the page receives."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Workspace:
    """``root``: the studio's own folder (sessions, scratch, uploads); ``runs``: trained runs (read only)."""

    root: Path
    runs: Path
    session_name: str

    @classmethod
    def create(cls, root: Path, runs: Path) -> Workspace:
        """Folders under ``root``; today's session is ``root/sessions/YYYY-MM-DD``."""
        workspace = cls(Path(root).resolve(), Path(runs).resolve(), time.strftime("%Y-%m-%d"))
        for folder in (workspace.session / "kept", workspace.session / "mixes", workspace.scratch,
                       workspace.uploads):
            folder.mkdir(parents=True, exist_ok=True)
        return workspace

    @property
    def session(self) -> Path:
        return self.root / "sessions" / self.session_name

    @property
    def scratch(self) -> Path:
        """Generated takes not (yet) kept."""
        return self.root / "scratch"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    def areas(self) -> dict[str, Path]:
        """The folders a URL may name, by area name."""
        return {"session": self.session, "scratch": self.scratch, "runs": self.runs}

    def resolve(self, area: str, relative: str) -> Path:
        """The existing file ``relative`` inside ``area``; StudioError (404) for anything else."""
        base = self.areas().get(area)
        if base is None:
            raise StudioError(f"unknown area '{area}' (use {', '.join(self.areas())})", status=404)
        path = (base / relative).resolve()
        if not path.is_relative_to(base) or Path(relative).is_absolute():
            raise StudioError(f"'{relative}' is outside the studio's {area} folder", status=403)
        if not path.is_file():
            raise StudioError(f"{area}/{relative}: no such file", status=404)
        return path

    def url(self, path: Path) -> str:
        """The URL that serves ``path`` (which must lie in one of the areas)."""
        path = Path(path).resolve()
        for area, base in self.areas().items():
            if path.is_relative_to(base):
                return f"/files/{area}/{path.relative_to(base).as_posix()}"
        raise StudioError(f"{path} is outside the studio's folders", status=500)


def check_name(name: str, what: str) -> str:
    """A file or folder name the user chose: letters, digits, '.', '_' and '-' only."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise StudioError(f"{what} '{name}' must be 1-80 letters, digits, '.', '_' or '-' (no '..')")
    return name
