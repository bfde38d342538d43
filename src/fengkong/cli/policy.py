"""``fengkong policy``: check, run, simulate, diff and promote decision policies.

The decision engine, Polars and the database are imported when a command runs: ``fengkong
--help`` loads no engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fengkong.cli._console import Quiet, console, progress_bar, report_problems, user_errors
from fengkong.cli._identity import ApiKeyOption, acting_identity
from fengkong.errors import ConfigError, InvalidArgumentError, Problem
from fengkong.settings import Settings

if TYPE_CHECKING:
    import polars as pl

    from fengkong.policy import Policy

app = typer.Typer(
    help="Decision policies: check, run, simulate, diff, promote (maker-checker), versions.",
    no_args_is_help=True,
)

PolicyArg = Annotated[Path, typer.Argument(help="A policy file (YAML).")]


def _load(path: Path) -> Policy:
    """A checked policy file, under the expression limits of the settings in force."""
    from fengkong.policy import load_policy  # noqa: PLC0415 (the engine on demand)

    return load_policy(path, limits=Settings().expression_limits())


@app.command("check")
def check(policy: PolicyArg) -> None:
    """Report every problem of a policy file, one per line (file:line: path: message), exit 1;
    or that it is fine."""
    with user_errors():
        try:
            loaded = _load(policy)
        except ConfigError as exc:
            report_problems(exc.problems, what=str(policy))
        console.print(
            f"ok: {loaded.name} v{loaded.version}: {len(loaded.inputs)} inputs, "
            f"{len(loaded.nodes)} nodes, {len(loaded.rules)} rules, sha256 {loaded.sha256[:12]}"
        )


@app.command("run")
def run(
    policy: PolicyArg,
    data: Annotated[Path, typer.Option("--input", help="Applications (Parquet or CSV).")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file of row-level decisions.")],
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Columns to copy (repeat).")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Decide every application with the batch backend; print the decision mix."""
    import polars as pl  # noqa: PLC0415 (on demand)

    with user_errors():
        loaded = _load(policy)
        frame = _read(data)
        unknown = [c for c in keep or [] if c not in frame.columns]
        if unknown:
            raise InvalidArgumentError("--keep", expected="columns of the input", got=unknown)
        with progress_bar("deciding", 1, quiet=quiet) as advance:
            decided = loaded.decide_frame(frame)
            advance(1)
        result = pl.concat([frame.select(keep or []), decided], how="horizontal")
        result.write_parquet(out)
        mix = decided["decision"].value_counts(sort=True)
        shares = ", ".join(f"{d} {n / max(result.height, 1):.1%}" for d, n in mix.iter_rows())
        console.print(f"{result.height:,} decisions ({shares}) -> {out}")


def _read(data: Path) -> pl.DataFrame:
    from fengkong.cli.model import read_table  # noqa: PLC0415 (one reader for data files)

    return read_table(data)


@app.command("simulate")
def simulate_cmd(
    policy: PolicyArg,
    data: Annotated[Path, typer.Option("--input", help="Historical applications (Parquet/CSV).")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder for report.html and decisions.parquet.")
    ],
    vs: Annotated[Path | None, typer.Option("--vs", help="A challenger policy file.")] = None,
    outcome: Annotated[str | None, typer.Option(help="0/1 bad column.")] = None,
    known: Annotated[
        str | None, typer.Option(help="Boolean column: where the outcome was observed (booked).")
    ] = None,
    oracle: Annotated[
        bool, typer.Option(help="The outcome exists for every row (synthetic counterfactuals).")
    ] = False,
    segment: Annotated[str | None, typer.Option(help="Column to break figures down by.")] = None,
    keep: Annotated[list[str] | None, typer.Option("--keep", help="Columns to copy.")] = None,
    quiet: Quiet = False,
) -> None:
    """Run a policy (and a challenger) over history: approval, bad rates, swap set, report."""
    import polars as pl  # noqa: PLC0415 (on demand)

    from fengkong.policy.simulate import simulate, simulation_report  # noqa: PLC0415 (heavy)

    with user_errors():
        champion = _load(policy)
        challenger = _load(vs) if vs is not None else None
        frame = _read(data)
        with progress_bar("simulating", 2, quiet=quiet) as advance:
            sim = simulate(
                champion,
                frame,
                challenger=challenger,
                outcome=outcome,
                known=known,
                oracle=oracle,
                segment=segment,
                keep=tuple(keep or ()),
            )
            advance(1)
            path = simulation_report(sim, out, title=f"Simulation of {policy.name}")
            advance(1)
        for row in sim.summary.iter_rows(named=True):
            figures = ", ".join(
                f"{k.replace('_', ' ')} {v:.2%}"
                for k, v in row.items()
                if k.endswith("rate") and v is not None
            )
            console.print(f"{row['policy']}: {figures}")
        if sim.swap is not None:
            moved = sim.swap.group_by("swap").agg(pl.col("applications").sum())
            console.print(", ".join(f"{s} {n:,}" for s, n in moved.sort("swap").iter_rows()))
        console.print(f"report -> {path}")


def _policy_data(ref: str) -> tuple[str, dict[str, object]]:
    """A file path, or ``name@version`` from the policy repository."""
    import yaml  # noqa: PLC0415 (only for diff)

    from fengkong._yaml_strict import strict_yaml  # noqa: PLC0415

    if "@" in ref and not Path(ref).exists():
        from fengkong.cli._console import database_sessions  # noqa: PLC0415 (DB on demand)
        from fengkong.services.policies import source_of  # noqa: PLC0415 (DB on demand)

        name, version = ref.split("@", 1)
        with database_sessions().begin() as session:
            return ref, strict_yaml(source_of(session, name, version))
    try:
        return ref, strict_yaml(Path(ref).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([Problem(ref, "", f"cannot read the file: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(ref, "", f"not valid YAML: {exc}")]) from None


@app.command("diff")
def diff_cmd(
    old: Annotated[str, typer.Argument(help="A policy file or name@version in the repository.")],
    new: Annotated[str, typer.Argument(help="A policy file or name@version in the repository.")],
) -> None:
    """Every difference between two policy versions (rules matched by id)."""
    from fengkong.policy.versions import diff_policies  # noqa: PLC0415 (small, on demand)

    with user_errors():
        (a_name, a), (b_name, b) = _policy_data(old), _policy_data(new)
        changes = diff_policies(a, b)
        if not changes:
            console.print(f"{a_name} and {b_name}: no differences")
        for c in changes:
            mark = {"added": "+", "removed": "-", "changed": "~"}[c.kind]
            detail = (
                f"{c.old!r} -> {c.new!r}"
                if c.kind == "changed"
                else repr(c.new if c.kind == "added" else c.old)
            )
            console.print(f"{mark} {c.path}: {detail}", markup=False)


@app.command("promote")
def promote_cmd(
    ref: Annotated[
        str, typer.Argument(help="A policy file (submit it as a draft) or name@version.")
    ],
    api_key: ApiKeyOption = None,
    to: Annotated[
        str, typer.Option("--to", help="draft (with a file), approved, active or retired.")
    ] = "draft",
    note: Annotated[str, typer.Option(help="Why (kept in the workflow log).")] = "",
) -> None:
    """Submit a file as a draft, or move name@version to approved / active / retired.

    Who acts is the API key's holder (--api-key or FENGKONG_API_KEY) or FENGKONG_OPERATOR,
    never typed here; the author cannot approve their own version. Activating a retired
    version rolls back to it. The database is FENGKONG_DATABASE_URL.
    """
    import datetime as dt  # noqa: PLC0415 (the clock is read here, at the edge)

    from fengkong.cli._console import database_sessions  # noqa: PLC0415 (DB on demand)
    from fengkong.services import policies as svc  # noqa: PLC0415 (DB on demand)

    with user_errors():
        now = dt.datetime.now(dt.UTC)
        with database_sessions().begin() as session:
            by = acting_identity(session, api_key=api_key, roles=svc.POLICY_EDITORS)
            if to == "draft":
                if not Path(ref).is_file():
                    raise InvalidArgumentError("REF", expected="a policy file to submit", got=ref)
                info = svc.submit_policy(
                    session, Path(ref), author=by, at=now, limits=Settings().expression_limits()
                )
            else:
                if "@" not in ref:
                    raise InvalidArgumentError("REF", expected="name@version", got=ref)
                name, version = ref.split("@", 1)
                info = svc.promote(session, name, version, to=to, actor=by, at=now, note=note)
        console.print(
            f"{info.name}@{info.version}: {info.status} (author {info.author}, "
            f"approved by {info.approved_by or '-'}, sha256 {info.sha256[:12]})"
        )


@app.command("versions")
def versions_cmd(
    name: Annotated[str | None, typer.Argument(help="A policy name (default: all).")] = None,
) -> None:
    """List stored policy versions with their status."""
    from rich.table import Table  # noqa: PLC0415 (display only)

    from fengkong.cli._console import database_sessions  # noqa: PLC0415 (DB on demand)
    from fengkong.services.policies import list_versions  # noqa: PLC0415 (DB on demand)

    with user_errors():
        with database_sessions().begin() as session:
            rows = list_versions(session, name)
        table = Table("policy", "version", "status", "author", "approved by", "sha256", "created")
        for v in rows:
            table.add_row(
                v.name,
                v.version,
                v.status,
                v.author,
                v.approved_by or "-",
                v.sha256[:12],
                f"{v.created_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)
