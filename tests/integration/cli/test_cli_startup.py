"""The CLI starts fast: what ``fengkong --help`` and ``fengkong loan quote`` import, the
``--quiet`` flag of every long command, and the date-flag convention (``docs/cli.md``).

Start-up is measured as the modules a fresh interpreter holds after running the command
(the console-script entry, in process), not as time: a module list is stable on any machine.
"""

import json
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.cli.features import _shipped_spec_names
from fengkong.cli.loan import METHOD_NAMES
from fengkong.features.spec import builtin_specs
from fengkong.servicing.products import METHODS

runner = CliRunner()

HEAVY = (
    "sklearn",
    "lightgbm",
    "scipy",
    "fastapi",
    "uvicorn",
    "starlette",
    "sqlalchemy",
    "alembic",
    "ortools",
    "matplotlib",
    "plotly",
    "numba",
    "jinja2",
    "redis",
)
"""Never imported by ``--help`` or ``loan quote`` (the modeling, web and database stacks)."""

_PROBE = """
import json, sys
from fengkong.cli.app import main
sys.argv = ["fengkong", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
roots = sorted({name.split(".")[0] for name in sys.modules})
print("\\n@@" + json.dumps({"code": code, "roots": roots}))
"""


def _loaded(*args: str) -> tuple[int, set[str]]:
    """The exit code and the top-level packages loaded by ``fengkong ARGS`` in a fresh
    interpreter (the console-script entry point, run in process)."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "200", "PATH": "", "FENGKONG_DATA_DIR": "/nonexistent"},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.rsplit("\n@@", 1)[1])
    return found["code"], set(found["roots"])


def test_help_imports_no_engine_and_no_web_or_database_stack():
    code, roots = _loaded("--help")
    assert code == 0
    assert {"typer", "rich", "fengkong"} <= roots  # the probe saw the run
    assert roots.isdisjoint(HEAVY), sorted(roots & set(HEAVY))
    assert roots.isdisjoint({"polars", "pyarrow", "yaml"}), "--help needs no data frames"


def test_every_group_help_imports_no_engine():
    for group in ("features", "graph", "model", "policy", "servicing", "collections"):
        code, roots = _loaded(group, "--help")
        assert code == 0
        assert roots.isdisjoint(HEAVY), (group, sorted(roots & set(HEAVY)))
        assert "polars" not in roots, group


def test_loan_quote_imports_only_the_servicing_core():
    args = ("loan", "quote", "--principal", "10000", "--rate", "0.12", "--term", "12")
    code, roots = _loaded(*args, "--disbursed-on", "2026-01-01")
    assert code == 0
    assert roots.isdisjoint(HEAVY), sorted(roots & set(HEAVY))


def test_the_probe_sees_a_command_that_loads_an_engine():
    code, roots = _loaded("model", "dataset", "/nonexistent/book", "--out", "/nonexistent/x.pq")
    assert code == 2  # no such book: but the modeling stack was loaded to find out
    assert {"sklearn", "lightgbm", "polars"} <= roots


def test_method_names_in_the_help_are_the_catalogue_methods():
    assert tuple(METHOD_NAMES) == tuple(METHODS)


def test_shipped_spec_names_in_the_help_are_the_shipped_specs():
    assert _shipped_spec_names() == sorted(builtin_specs()) != []


def _commands() -> dict[str, Any]:
    """Every leaf command by its path (``servicing eod``); Typer's Click commands (duck-
    typed: Typer may carry its own copy of Click)."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}".strip())
        else:
            found[path] = command

    walk(typer.main.get_command(app), "")
    return found


def _flags(command: Any, *, hidden: bool = False) -> set[str]:
    return {
        flag
        for p in command.params
        if p.param_type_name == "option" and (hidden or not p.hidden)
        for flag in p.opts
    }


LONG = (
    "synth",
    "demo",
    "features build",
    "features quality",
    "features reseed",
    "graph build",
    "graph rings",
    "graph explain",
    "model bin",
    "model fit",
    "model score",
    "model report",
    "model dataset",
    "policy run",
    "policy simulate",
    "servicing load",
    "servicing eod",
    "servicing import",
    "collections run",
    "collections score",
    "collections simulate",
    "portfolio report",
)


@pytest.mark.parametrize("path", LONG)
def test_every_long_command_takes_quiet(path):
    command = _commands()[path]
    assert {"--quiet", "-q"} <= _flags(command), path


def test_date_flags_follow_one_convention():
    """``--date`` only for a business date (end of day); a point in time is ``--as-of``."""
    commands = _commands()
    with_date = sorted(path for path, c in commands.items() if "--date" in _flags(c))
    assert with_date == ["servicing eod"]
    for path in ("loan statement", "servicing statement", "servicing payoff", "graph build",
                 "collections run", "collections simulate"):  # fmt: skip
        assert "--as-of" in _flags(commands[path]), path


def test_renamed_flags_keep_a_hidden_deprecated_alias():
    commands = _commands()
    for path, old in (("loan quote", "--date"), ("loan statement", "--date"),
                      ("collections run", "--date"), ("collections simulate", "--date"),
                      ("servicing payoff", "--on")):  # fmt: skip
        assert old in _flags(commands[path], hidden=True) - _flags(commands[path]), path
    base = ["loan", "quote", "--principal", "5000", "--rate", "0.1", "--term", "6"]
    new = runner.invoke(app, [*base, "--disbursed-on", "2026-01-01"], env={"COLUMNS": "200"})
    old = runner.invoke(app, [*base, "--date", "2026-01-01"], env={"COLUMNS": "200"})
    assert new.exit_code == old.exit_code == 0, old.output
    assert "--date is deprecated; use --disbursed-on" in old.output
    assert old.output.replace("warning: --date is deprecated; use --disbursed-on\n", "") == (
        new.output
    )
    both = runner.invoke(app, [*base, "--date", "2026-01-01", "--disbursed-on", "2026-01-01"])
    assert both.exit_code == 2 and "--disbursed-on: expected --disbursed-on alone" in both.output
