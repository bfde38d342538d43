"""The dependency rule of DESIGN.md: domain packages stay pure; dependencies point inward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fengkong

PACKAGE = Path(fengkong.__file__).parent
DOMAIN = (
    "features",
    "graph",
    "modeling",
    "policy",
    "servicing",
    "collections",
    "portfolio",
    "synth",
    "money.py",
    "errors.py",
)
EDGE = ("fengkong.api", "fengkong.cli", "fengkong.ui", "fengkong.demo")
FORBIDDEN_IN_DOMAIN = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "typer",
    "redis",
    "psycopg",
    "fengkong.db",
    "fengkong.services",
    *EDGE,
)
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}
RULES = {
    "domain": FORBIDDEN_IN_DOMAIN,
    "db": ("fengkong.services", *EDGE),
    "services": EDGE,
}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def violations(source: str, forbidden: tuple[str, ...], *, pure: bool) -> list[str]:
    """Forbidden imports, environment reads and clock reads in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
            if (
                pure
                and node.module == "os"
                and any(a.name in ("environ", "getenv") for a in node.names)
            ):
                found.append(f"line {node.lineno}: reads the environment (from os import ...)")
        for module in modules:
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                found.append(f"line {node.lineno}: imports {module}")
        if pure and isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted in ("os.environ", "os.getenv"):
                found.append(f"line {node.lineno}: reads the environment ({dotted})")
            parts = dotted.split(".")
            if len(parts) >= 2 and (parts[-2], parts[-1]) in CLOCK_CALLS:
                found.append(f"line {node.lineno}: reads the clock ({dotted})")
    return found


def _files(kind: str) -> list[Path]:
    paths = [PACKAGE / d for d in DOMAIN] if kind == "domain" else [PACKAGE / kind]
    files: list[Path] = []
    for p in paths:
        files += sorted(p.rglob("*.py")) if p.is_dir() else ([p] if p.exists() else [])
    return files


@pytest.mark.parametrize("kind", sorted(RULES))
def test_dependencies_point_inward(kind):
    problems = {
        str(f.relative_to(PACKAGE)): v
        for f in _files(kind)
        if (v := violations(f.read_text("utf-8"), RULES[kind], pure=kind == "domain"))
    }
    assert problems == {}


def test_the_domain_has_files_to_check():
    assert len(_files("domain")) >= 10


def test_the_checker_catches_each_kind_of_violation():
    bad = "\n".join(
        [
            "import sqlalchemy.orm",
            "from fengkong.cli import app",
            "import os",
            "from os import environ",
            "x = os.environ['A']",
            "import datetime",
            "t = datetime.datetime.now()",
            "d = datetime.date.today()",
            "import time",
            "s = time.time()",
        ]
    )
    found = violations(bad, FORBIDDEN_IN_DOMAIN, pure=True)
    assert len(found) == 7, found
    assert (
        violations("import time\nx = time.perf_counter()\n", FORBIDDEN_IN_DOMAIN, pure=True) == []
    )
