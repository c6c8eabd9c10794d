"""Dependencies point down (docs/architecture.md, "Layers"): each module imports only from its own
layer or the layers below, and no route module imports another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Top-level modules and packages of the project, by layer: higher numbers may import lower ones.
LAYERS = {
    "settings": 0,
    "logs": 0,
    "domain": 1,
    "models": 2,
    "activities": 3,
    "workflows": 4,
    "api": 5,
    "web": 5,
    "worker": 6,
    "worker_metrics": 6,
    "launch": 7,
    "run": 8,
    "bench": 9,
    "tests": 10,
    "migrations": 10,
}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of every import of a project module in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in LAYERS]
    return found


def sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "versions" not in p.parts)


def top(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    layer = LAYERS[top(path)]
    upward = [f"line {line}: {name}" for line, name in project_imports(path) if LAYERS[name.split(".")[0]] > layer]
    assert not upward, f"{path.relative_to(ROOT)} imports from a higher layer: {upward}"


def test_no_route_module_imports_another() -> None:
    routes = sorted((ROOT / "api" / "routes").glob("*.py"))
    sideways = [
        f"{path.name}:{line} {name}"
        for path in routes
        for line, name in project_imports(path)
        if name.startswith("api.routes")
    ]
    assert routes and not sideways, sideways


def test_the_layer_table_knows_every_top_level_module() -> None:
    unknown = {top(p) for p in sources()} - set(LAYERS)
    assert not unknown, f"add these to LAYERS: {unknown}"
