"""The import direction of ARCHITECTURE.md: core <- domain <- storage <- services <- jobs <- api <- main."""

import ast
from pathlib import Path

import townsquare

ROOT = Path(townsquare.__file__).parent
RANK = {
    "config": 0, "core": 0, "domain": 1, "storage": 2,
    "services": 3, "timelines": 3, "moderation": 3, "spaces": 3,
    "ratelimit": 3, "media": 3, "cards": 3, "overload": 3, "jobs": 4, "api": 5, "web": 5, "main": 6, "wiring": 6,
    "cli": 6, "cli_admin": 6, "cli_ops": 6, "cli_common": 6,
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


def _cli_edges(path: Path):
    """The CLI modules a module imports, lazily or not (`from townsquare import cli_ops` counts)."""
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module == "townsquare":
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("townsquare."):
            names = [node.module.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("townsquare.") and "." in a.name]
        yield from (name for name in names if name.startswith("cli"))


def test_the_cli_modules_form_a_tree():
    graph = {p.stem: set(_cli_edges(p)) for p in ROOT.glob("cli*.py")}
    assert {"cli", "cli_admin", "cli_ops", "cli_common"} <= set(graph)
    assert graph["cli_common"] == set()  # the shared settings helper has one home and imports no command module
    # no cycles: peel off modules that import nothing left, until none remain
    remaining = {name: set(edges) & set(graph) for name, edges in graph.items()}
    while remaining:
        leaves = {name for name, edges in remaining.items() if not edges - {name} and name not in edges}
        assert leaves, f"the CLI modules import each other in a cycle: {remaining}"
        remaining = {name: edges - leaves for name, edges in remaining.items() if name not in leaves}


def _imports_sqlalchemy(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            lines.append(node.lineno)
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
            lines.append(node.lineno)
    return lines


def test_the_web_pages_hold_no_sql():
    # One read path for both faces: pages call services and storage readers, never SQLAlchemy themselves.
    files = list((ROOT / "web").rglob("*.py"))
    assert len(files) > 5
    offenders = [f"{p.relative_to(ROOT)}:{line}" for p in files for line in _builds_sql(p)]
    assert offenders == []


# API modules that still build SQL, to be moved into storage readers once the branches editing them land.
API_SQL_STILL_MOVING: set[str] = set()  # all moved: nothing in api/ builds SQL
# Moved: these read through storage readers and services only (and must stay so); timelines and statuses share
# the web app's readers (services/timeline_pages) and the rendered-status cache.
API_SQL_MOVED = {"mastodon/instance.py", "stream_render.py", "streaming.py", "mastodon/search.py", "mastodon/spaces.py", "mastodon/accounts.py",
                 "mastodon/timelines.py", "mastodon/statuses.py", "mastodon/common.py", "mastodon/notifications.py",
                 "filtering.py", "deps.py", "serializers/statuses.py"}


def _builds_sql(path: Path) -> list[int]:
    """Lines importing SQLAlchemy or the table definitions (a query can be built from a Table alone)."""
    return _imports_sqlalchemy(path) + [line for target, line in _imports(path) if target == "townsquare.storage.tables"]


def test_the_api_holds_no_sql_outside_the_modules_still_moving():
    files = list((ROOT / "api").rglob("*.py"))
    holding = {str(p.relative_to(ROOT / "api")) for p in files if _builds_sql(p)}
    assert holding <= API_SQL_STILL_MOVING, sorted(holding - API_SQL_STILL_MOVING)


def test_the_moved_api_modules_build_no_sql():
    for name in sorted(API_SQL_MOVED):
        path = ROOT / "api" / name
        assert path.exists(), name
        assert _builds_sql(path) == [], f"api/{name} builds SQL again: {_builds_sql(path)}"
        assert name not in API_SQL_STILL_MOVING


def test_the_sql_check_sees_both_ways_of_building_a_query(tmp_path):
    # The check itself must be able to fail: a module with either import is caught, a clean one is not.
    for source, expected in (("from sqlalchemy import select\n", [1]), ("import sqlalchemy as sa\n", [1]),
                             ("from townsquare.storage.tables import spaces\n", [1]),
                             ("from townsquare.storage import spaces\n", [])):
        module = tmp_path / "module.py"
        module.write_text(source)
        assert _builds_sql(module) == expected, source
