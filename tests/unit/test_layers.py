"""The import direction of ARCHITECTURE.md: core <- domain <- storage <- services <- jobs <- api <- main."""

import ast
from pathlib import Path

import townsquare

ROOT = Path(townsquare.__file__).parent
RANK = {
    "config": 0, "core": 0, "domain": 1, "storage": 2,
    "services": 3, "timelines": 3, "moderation": 3, "spaces": 3,
    "ratelimit": 3, "jobs": 4, "api": 5, "web": 5, "main": 6, "wiring": 6, "cli": 6, "cli_ops": 6,
}
# The visibility policy is pure SQL over storage tables, and every storage reader must apply it.
ALLOWED = {("storage", "townsquare.moderation.policy")}


def _room(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for inner in ast.walk(node):
                inner.type_checking = True  # type: ignore[attr-defined]
    for node in ast.walk(tree):
        if getattr(node, "type_checking", False):
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("townsquare."):
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("townsquare."):
                    yield alias.name, node.lineno


def test_every_import_points_down_the_layers():
    broken = []
    files = [p for p in ROOT.rglob("*.py") if "migrations" not in p.parts]
    assert len(files) > 30
    for path in files:
        rel = path.relative_to(ROOT)
        room = rel.parts[0].removesuffix(".py")
        if room not in RANK:
            continue
        for target, line in _imports(path):
            target_room = _room(target)
            if target_room not in RANK or (room, target) in ALLOWED:
                continue
            if RANK[target_room] > RANK[room]:
                broken.append(f"{rel}:{line} ({room}) imports {target} ({target_room})")
    assert broken == []
