"""Every third-party package the program imports is one of its own runtime dependencies in pyproject.toml.

The test extras are installed wherever this suite runs, so an import of a package that only they bring
(httpx once) works here and breaks a newcomer's `./scripts/serve`. scripts/check-serve proves the install for
real; this test names the culprit file and line without installing anything.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import townsquare

SRC = Path(townsquare.__file__).parent
PYPROJECT = SRC.parent.parent / "pyproject.toml"


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string ("redis[hiredis]>=5" -> "redis")."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]).lower()


def _project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def _third_party_imports():
    """(top-level module, file, line) for every absolute import outside the standard library, lazy ones too."""
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "townsquare" and top not in sys.stdlib_module_names:
                    yield top, path.relative_to(SRC.parent), node.lineno


def test_every_imported_package_is_a_declared_runtime_dependency():
    runtime = {_name(r) for r in _project()["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    seen, undeclared = set(), []
    for module, path, line in _third_party_imports():
        seen.add(module)
        dists = {_name(d) for d in providers.get(module, [])}
        if not dists:
            undeclared.append(f"{path}:{line} imports {module}, which no installed distribution provides")
        elif not dists & runtime:
            undeclared.append(f"{path}:{line} imports {module} (from {', '.join(sorted(dists))}), "
                              "not in [project.dependencies]")
    assert {"fastapi", "sqlalchemy", "httpx", "typer"} <= seen  # the scan sees the program's imports
    assert undeclared == []


def test_test_extras_add_nothing_the_program_needs():
    """A package in both lists would hide a runtime dependency behind the test install if it left the first."""
    project = _project()
    runtime = {_name(r) for r in project["dependencies"]}
    test = {_name(r) for r in project["optional-dependencies"]["test"]}
    assert test and not (runtime & test)
