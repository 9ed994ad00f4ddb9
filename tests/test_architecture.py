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
FORBIDDEN = {  # stage -> the stages it must not import
    "corpus": {"render", "transcribe", "train", "measures", "evaluate", "studio", "cli", "demo", *MODELS},
    "render": {"corpus", "transcribe", "train", "measures", "evaluate", "studio", "cli", "demo", *MODELS},
    "transcribe": {"corpus", "render", "train", "measures", "evaluate", "studio", "cli", "demo", "pipeline", *MODELS},
    "train": {"measures", "evaluate", "transcribe", "studio", "cli", "demo", "pipeline", *MODELS},
    "measures": {"corpus", "render", "transcribe", "train", "evaluate", "studio", "cli", "demo", "pipeline", "generate",
                 *MODELS},
    "symbolic": {"evaluate", "transcribe", "studio", "cli", "demo", "pipeline", "audio"},
    "audio": {"evaluate", "transcribe", "studio", "cli", "demo", "pipeline", "symbolic"},
    "evaluate": {"studio", "cli", "demo"},
    "studio": {"cli", "demo", *MODELS},  # models only through composer.generate
}
LEAVES = {"errors", "atomic", "config", "audio_io", "quiet", "lite", "draws", "seeding", "options", "progress"}
FORBIDDEN |= {leaf: set(FORBIDDEN) | {"pipeline", "generate", "demo", "cli"} for leaf in LEAVES}  # leaves: each other


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "composer" and len(parts) > 1 else None


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
    bad = sorted(name for name in imports_of(path) if stage_of(name) in banned)
    assert not bad, f"composer/{path.relative_to(PACKAGE)} ({stage}) imports {bad}; see docs/architecture.md"


def family_folder(module: str) -> tuple[str, str] | None:
    """(branch, folder) when ``module`` lies in a family's folder (``composer.symbolic.performance_rnn...``)."""
    parts = module.split(".")
    if len(parts) < 3 or parts[1] not in MODELS:
        return None
    return (parts[1], parts[2]) if (PACKAGE / parts[1] / parts[2] / "__init__.py").is_file() else None


@pytest.mark.parametrize("path", [p for p in source_files() if p.relative_to(PACKAGE).parts[0] in MODELS],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_family_folder_is_imported_only_from_inside(path):
    """What a branch shares imports no family, and no family imports another: families are found
    through the registry, so one can be added or removed alone."""
    parts = path.relative_to(PACKAGE).parts
    own = (parts[0], parts[1]) if len(parts) > 2 else None
    bad = sorted(name for name in imports_of(path) if family_folder(name) not in (None, own))
    assert not bad, f"composer/{path.relative_to(PACKAGE)} imports {bad}; see docs/architecture.md"


def test_every_family_has_a_folder():
    from composer.train.family import FAMILIES

    shipped = {name: target for name, target in FAMILIES.items() if target.startswith("composer.")}  # not tests' toys
    assert len(shipped) == 4
    for name, target in shipped.items():
        assert family_folder(target.split(":")[0]) is not None, f"{name} ({target}) is not in a family folder"


def test_the_rule_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from composer.render.synth import render_midi\n")
    assert "composer.render.synth" in imports_of(module)


def test_only_the_families_and_the_registry_name_a_family():
    """Stages, and what a branch's families share, ask a family (``output``, ``heldout_likelihood``)
    rather than compare its name, so adding one touches only its folder, the registry and its presets
    (the CLI's help and the demo name them)."""
    from composer.train.family import FAMILIES

    allowed = {"train/family.py", "cli.py", "demo.py"}
    for path in source_files():
        where = path.relative_to(PACKAGE).as_posix()
        if where in allowed or family_folder("composer." + where.removesuffix(".py").replace("/", ".")):
            continue
        strings = {node.value for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        assert not strings & set(FAMILIES), f"composer/{where} names {sorted(strings & set(FAMILIES))}"
