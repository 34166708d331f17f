"""The house's rules, read from the code: production never imports the sample; the engine and
the tiers' domain logic never import Dagster; readiness knows no tier's internals."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "piano_assets"
TIERS = ("chopin2021", "maestro", "youtube_piano")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(folder: str = "") -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def test_production_modules_never_import_the_sample() -> None:
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in _modules()
        if "sample" not in path.relative_to(PACKAGE).parts[:1]
        and path.name != "cli.py"  # only the CLI (and ./dev) wire the sample in
        and any(name.startswith("piano_assets.sample") for name in _imports(path))
    ]
    assert offenders == []


def test_the_engine_and_the_dagster_free_modules_never_import_dagster() -> None:
    dagster_free = [
        *_modules("engine"),
        *_modules("sources"),
        PACKAGE / "lib" / "tier.py",
        PACKAGE / "lib" / "recording_steps.py",
        *(PACKAGE / tier / name for tier in TIERS for name in ("adapter.py", "gate.py")),
    ]
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in dagster_free
        if path.exists() and any(name.split(".")[0] == "dagster" for name in _imports(path))
    ]
    assert offenders == []


def test_readiness_knows_no_tier_internals() -> None:
    offenders = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            name for name in _imports(path) if name.split(".")[1:2] and name.split(".")[1] in TIERS
        )
        for path in _modules("readiness")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_each_tier_is_one_folder_with_the_same_modules() -> None:
    for tier in TIERS:
        present = {path.name for path in (PACKAGE / tier).glob("*.py")}
        assert {
            "adapter.py",
            "assets.py",
            "checks.py",
            "defs.py",
            "gate.py",
            "paths.py",
        } <= present, tier
