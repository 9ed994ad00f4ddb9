"""The layout's arrows (docs/architecture.md): each stage imports only what it may.

Every import in the package counts, also the lazy ones inside functions, so a forbidden arrow
cannot hide behind a function-level import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "composer"
MODELS = {"symbolic", "audio"}
# evaluate's pure measures, with which a model listens to itself while training and scores itself held out
MEASURES = {"composer.evaluate.audio_metrics", "composer.evaluate.audio_reference", "composer.evaluate.distributions",
            "composer.evaluate.event_likelihood", "composer.evaluate.ngram"}
FORBIDDEN = {  # stage -> the stages it must not import
    "corpus": {"render", "train", "evaluate", "studio", "cli", "demo", *MODELS},
    "render": {"corpus", "train", "evaluate", "studio", "cli", "demo", *MODELS},
    "train": {"evaluate", "studio", "cli", "demo", "pipeline", *MODELS},
    "symbolic": {"evaluate", "studio", "cli", "demo", "pipeline", "audio"},
    "audio": {"evaluate", "studio", "cli", "demo", "pipeline", "symbolic"},
    "evaluate": {"studio", "cli", "demo"},
    "studio": {"cli", "demo"},
}


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "composer" and len(parts) > 1 else None


def is_measure(module: str, stage: str) -> bool:
    """A model importing one of evaluate's measure modules (or a name from one)."""
    return stage in MODELS and any(module == m or module.startswith(m + ".") for m in MEASURES)


def imports_of(path: Path) -> set[str]:
    """Every composer module ``path`` imports, at any depth of the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("composer.")}


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_forbidden_arrow(path):
    stage = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    banned = FORBIDDEN.get(stage, set()) | ({"cli"} if stage != "cli" else set())
    bad = sorted(name for name in imports_of(path) if stage_of(name) in banned and not is_measure(name, stage))
    assert not bad, f"composer/{path.relative_to(PACKAGE)} ({stage}) imports {bad}; see docs/architecture.md"


def test_the_rule_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from composer.render.synth import render_midi\n")
    assert "composer.render.synth" in imports_of(module)


def test_only_the_families_and_the_registry_name_a_family():
    """Stages ask a family (``output``, ``heldout_likelihood``) rather than compare its name, so adding
    one touches only its folder, the registry and its presets (the CLI's help and the demo name them)."""
    from composer.train.family import FAMILIES

    allowed = {"train/family.py", "cli.py", "demo.py"}
    for path in source_files():
        where = path.relative_to(PACKAGE).as_posix()
        if where in allowed or where.split("/")[0] in MODELS:
            continue
        strings = {node.value for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert not strings & set(FAMILIES), f"composer/{where} names {sorted(strings & set(FAMILIES))}"
