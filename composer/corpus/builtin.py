"""Built-in corpora: recipes (corpora/*.yaml) that import data an installed package bundles.

A recipe names a package, a folder inside it and glob patterns; the matching files are imported
in sorted order, so ``limit`` always takes the same first files (for ABC recipes a file is a
tunebook holding many tunes). Optional ``settings`` (sample_rate, chunk_s, eval_ratio,
split_unit) are passed to ``Corpus.create``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from composer.corpus.corpus import Corpus
from composer.errors import CorpusError, check_range

RECIPE_DIR = Path(__file__).resolve().parents[2] / "corpora"
_KEYS = {"description", "package", "folder", "patterns", "settings"}
_SETTINGS = {"sample_rate", "chunk_s", "eval_ratio", "split_unit"}


@dataclass(frozen=True)
class Recipe:
    """Which bundled files make up a built-in corpus."""

    name: str
    description: str
    package: str
    folder: str
    patterns: tuple[str, ...]
    settings: dict = field(default_factory=dict)

    def files(self) -> list[Path]:
        """The recipe's files in sorted order; CorpusError if the package or folder is missing."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise CorpusError(f"recipe '{self.name}' needs the package '{self.package}' (pip install {self.package})")
        base = Path(list(spec.submodule_search_locations)[0]) / self.folder
        if not base.is_dir():
            raise CorpusError(f"recipe '{self.name}': folder {base} not found in the installed {self.package}")
        found = {path for pattern in self.patterns for path in base.rglob(pattern) if path.is_file()}
        return sorted(found, key=lambda path: path.relative_to(base).as_posix())


def recipes() -> list[str]:
    """Names of the available recipes (the stems of corpora/*.yaml)."""
    return sorted(path.stem for path in RECIPE_DIR.glob("*.yaml"))


def load_recipe(name: str) -> Recipe:
    """Read and check corpora/<name>.yaml; CorpusError listing valid names if unknown."""
    path = RECIPE_DIR / f"{name}.yaml"
    if name not in recipes():
        raise CorpusError(f"unknown recipe '{name}' (available: {', '.join(recipes()) or 'none'})")
    raw = yaml.safe_load(path.read_text()) or {}
    unknown = set(raw) - _KEYS
    missing = {"package", "folder", "patterns"} - set(raw)
    if unknown or missing or not isinstance(raw.get("patterns"), list):
        raise CorpusError(f"{path}: needs package, folder and a list of patterns "
                          f"(unknown keys: {sorted(unknown)}, missing: {sorted(missing)})")
    settings = dict(raw.get("settings") or {})
    if unknown_settings := set(settings) - _SETTINGS:
        raise CorpusError(f"{path}: unknown settings {sorted(unknown_settings)} (allowed: {sorted(_SETTINGS)})")
    return Recipe(name=name, description=str(raw.get("description", "")), package=raw["package"],
                  folder=raw["folder"], patterns=tuple(raw["patterns"]), settings=settings)


def build(recipe: str, name: str, *, root: str | os.PathLike | None = None, limit: int | None = None,
          jobs: int = 1, progress: bool = False, split_unit: str | None = None) -> Corpus:
    """Build (or top up) the corpus ``name`` from the built-in ``recipe``.

    Args:
      recipe: a name from ``recipes()``, e.g. "bach-chorales".
      name: the corpus to create under the root.
      limit: import only the first ``limit`` files of the recipe (sorted order).
      jobs: worker processes.
      split_unit: "item" or "chunk" in place of the recipe's (default "chunk"); see ``corpus.splits``.
    Returns:
      The opened corpus.
    """
    corpus, files = prepare(recipe, name, root=root, limit=limit, split_unit=split_unit)
    corpus.import_paths(files, jobs=jobs, progress=progress)
    return corpus


def prepare(recipe: str, name: str, *, root: str | os.PathLike | None = None, limit: int | None = None,
            split_unit: str | None = None) -> tuple[Corpus, list[Path]]:
    """The corpus ``name`` created with ``recipe``'s settings, and the files ``build`` imports into it
    (a caller that reports the import, like the CLI, imports them itself)."""
    spec = load_recipe(recipe)
    if limit is not None:
        check_range("limit", limit, low=1, note="files", error=CorpusError)
    files = spec.files()[:limit]
    if not files:
        raise CorpusError(f"recipe '{recipe}' matched no files")
    settings = spec.settings | ({} if split_unit is None else {"split_unit": split_unit})
    return Corpus.create(name, root=root, **settings), files
