"""``fengkong model``: bin, fit, score and report over Parquet or CSV; artifacts as JSON/text.

The modeling stack (scikit-learn, LightGBM, matplotlib) and Polars are imported when a
command runs, so ``fengkong --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from fengkong.cli._console import Quiet, console, progress_bar, user_errors
from fengkong.errors import InvalidArgumentError, OutputError

if TYPE_CHECKING:
    import polars as pl

app = typer.Typer(
    help="Models: optimal binning, scorecards, LightGBM, scoring and validation reports.",
    no_args_is_help=True,
)

DataArg = Annotated[Path, typer.Argument(help="A Parquet or CSV file (or a folder of Parquet).")]
Target = Annotated[str, typer.Option("--target", help="The 0/1 outcome column (1 = bad).")]
Exclude = Annotated[
    list[str] | None, typer.Option("--exclude", help="Columns that are not variables (repeat).")
]
Special = Annotated[
    list[float] | None, typer.Option("--special", help="A special value with its own bin (repeat).")
]
Edits = Annotated[Path | None, typer.Option("--edits", help="Bin edits (YAML) for analysts.")]
Only = Annotated[
    str | None,
    typer.Option(
        "--only", help="Train only on rows where this boolean column is true (e.g. accepted)."
    ),
]


def read_table(path: Path) -> pl.DataFrame:
    """A Parquet file or folder, or a CSV file, as a frame."""
    import polars as pl  # noqa: PLC0415 (on demand)

    if path.is_dir():
        return pl.read_parquet(path / "*.parquet")
    if not path.exists():
        raise InvalidArgumentError(
            "data", expected="an existing Parquet or CSV file", got=str(path)
        )
    if path.suffix.lower() == ".csv":
        return pl.read_csv(path, infer_schema_length=10_000)
    if path.suffix.lower() in (".parquet", ".pq"):
        return pl.read_parquet(path)
    raise InvalidArgumentError("data", expected="a .parquet or .csv file", got=str(path))


def _split(
    frame: pl.DataFrame, target: str, exclude: list[str] | None, only: str | None = None
) -> tuple[pl.DataFrame, Any]:
    import polars as pl  # noqa: PLC0415 (on demand)

    if only is not None:
        if only not in frame.columns or frame[only].dtype != pl.Boolean:
            raise InvalidArgumentError("--only", expected="a boolean column of the data", got=only)
        frame = frame.filter(pl.col(only)).drop(only)
    if target not in frame.columns:
        raise InvalidArgumentError(
            "--target", expected=f"a column of the data {frame.columns}", got=target
        )
    drop = [target, *(exclude or [])]
    unknown = [c for c in drop if c not in frame.columns]
    if unknown:
        raise InvalidArgumentError("--exclude", expected="columns of the data", got=unknown)
    return frame.drop(drop), frame[target]


def _binning(special: list[float] | None, edits: Path | None) -> Any:
    from fengkong.modeling import BinningProcess, load_bin_edits  # noqa: PLC0415

    return BinningProcess(
        special_codes=special or None, binning_params=load_bin_edits(edits) if edits else None
    )


def _out_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(str(out), str(exc)) from exc
    return out


def _summary_table(summary: pl.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for column in ("variable", "kind", "n_bins", "iv", "ks", "trend", "status"):
        table.add_column(column)
    for row in summary.iter_rows(named=True):
        table.add_row(
            row["variable"],
            row["kind"],
            str(row["n_bins"]),
            f"{row['iv']:.4f}",
            f"{row['ks']:.4f}",
            row["trend"],
            row["status"],
        )
    return table


@app.command("bin")
def bin_variables(
    data: DataArg,
    target: Target,
    out: Annotated[Path, typer.Option("--out", help="JSON file for the fitted bins.")],
    exclude: Exclude = None,
    special: Special = None,
    edits: Edits = None,
    only: Only = None,
    quiet: Quiet = False,
) -> None:
    """Optimally bin every variable; print the IV ranking and save the bins as JSON."""
    with user_errors():
        frame_x, y = _split(read_table(data), target, exclude, only)
        bp = _binning(special, edits)
        with progress_bar("binning", 1, quiet=quiet) as advance:
            bp.fit(frame_x, y)
            advance(1)
        bp.save(out)
        console.print(
            _summary_table(bp.summary(), f"{frame_x.width} variables, {frame_x.height:,} rows")
        )
        console.print(f"bins written to {out}")


@app.command("fit")
def fit_model(
    data: DataArg,
    target: Target,
    out: Annotated[Path, typer.Option("--out", help="Folder for the model artifacts.")],
    kind: Annotated[str, typer.Option(help="scorecard or gbm.")] = "scorecard",
    exclude: Exclude = None,
    special: Special = None,
    edits: Edits = None,
    name: Annotated[str, typer.Option(help="Model name in the artifact.")] = "model",
    version: Annotated[str, typer.Option(help="Model version in the artifact.")] = "1",
    only: Only = None,
    quiet: Quiet = False,
) -> None:
    """Fit a scorecard (JSON + SQL) or a LightGBM model (text + JSON sidecar)."""
    from fengkong.modeling import GBMClassifier, Scorecard  # noqa: PLC0415
    from fengkong.modeling.metrics import ks_statistic, roc_auc  # noqa: PLC0415

    with user_errors():
        if kind not in ("scorecard", "gbm"):
            raise InvalidArgumentError("--kind", expected="scorecard or gbm", got=kind)
        frame_x, y = _split(read_table(data), target, exclude, only)
        folder = _out_dir(out)
        with progress_bar(f"fitting {kind}", 1, quiet=quiet) as advance:
            if kind == "scorecard":
                model: Any = Scorecard(_binning(special, edits), name=name, version=version)
            else:
                model = GBMClassifier(name=name, version=version)
            model.fit(frame_x, y)
            advance(1)
        p = model.predict_proba(frame_x)[:, 1]
        written: list[Path] = []
        if kind == "scorecard":
            written.append(model.model_.save(folder / f"{name}.json"))
            for dialect in ("sqlite", "postgresql"):
                sql = folder / f"{name}.{dialect}.sql"
                sql.write_text(model.model_.to_sql("applications", dialect=dialect) + "\n")
                written.append(sql)
            model.points_table().write_csv(folder / f"{name}.points.csv")
            written.append(folder / f"{name}.points.csv")
        else:
            written += list(model.artifact_.save(folder / name))
        console.print(
            f"{kind} on {frame_x.height:,} rows: training AUC {roc_auc(y, p):.4f}, "
            f"KS {ks_statistic(y, p):.4f}"
        )
        for path in written:
            console.print(f"  wrote {path}")


def load_artifact(path: Path) -> Any:
    """A scorecard JSON or a LightGBM sidecar JSON (with its .txt beside it)."""
    from fengkong.modeling import GBMArtifact, ScorecardModel  # noqa: PLC0415

    try:
        kind = json.loads(path.read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError) as exc:
        raise InvalidArgumentError(
            "model", expected="a model JSON written by fengkong", got=str(path)
        ) from exc
    if kind == "scorecard":
        return ScorecardModel.load(path)
    if kind == "lightgbm":
        return GBMArtifact.load(path)
    raise InvalidArgumentError("model", expected="a scorecard or lightgbm artifact", got=kind)


@app.command("score")
def score(
    model: Annotated[Path, typer.Argument(help="Model JSON (scorecard or LightGBM sidecar).")],
    data: DataArg,
    out: Annotated[Path, typer.Option("--out", help="Parquet (or .csv) file to write.")],
    keep: Annotated[
        list[str] | None, typer.Option("--keep", help="Columns to copy (repeat).")
    ] = None,
    reasons: Annotated[int, typer.Option(help="Reason codes per row (0: none).")] = 4,
    quiet: Quiet = False,
) -> None:
    """Score every row: points (or probability) and ranked reason codes."""
    with user_errors(), progress_bar("scoring", 1, quiet=quiet) as advance:
        result, art = _scored(model, data, keep, reasons)
        advance(1)
        if out.suffix.lower() == ".csv":
            result.write_csv(out)
        else:
            result.write_parquet(out)
    console.print(f"{result.height:,} rows scored with {art.name} v{art.version} -> {out}")


def _scored(
    model: Path, data: Path, keep: list[str] | None, reasons: int
) -> tuple[pl.DataFrame, Any]:
    """Every row of ``data`` scored by the artifact at ``model``, and the artifact."""
    import polars as pl  # noqa: PLC0415 (on demand)

    from fengkong.modeling import ScorecardModel  # noqa: PLC0415

    art = load_artifact(model)
    frame = read_table(data)
    kept = frame.select(keep or [])
    if isinstance(art, ScorecardModel):
        scores = art.score_frame(frame)
        cols = [
            kept,
            pl.DataFrame({"score": scores, "p_bad": art.probability(scores.cast(pl.Float64))}),
        ]
        if reasons:
            rows = [
                art.explain_row(r, n_reasons=reasons).reasons
                for r in frame.select(art.features).iter_rows(named=True)
            ]
            cols.append(
                pl.DataFrame(
                    {
                        f"reason_{k + 1}": [r[k].code if len(r) > k else None for r in rows]
                        for k in range(reasons)
                    },
                    schema={f"reason_{k + 1}": pl.String for k in range(reasons)},
                )
            )
    else:
        cols = [kept, pl.DataFrame({"p_bad": art.predict_proba(frame)})]
        if reasons:
            cols.append(art.reasons(frame, n_reasons=reasons))
    return pl.concat(cols, how="horizontal"), art


@app.command("report")
def report(
    model: Annotated[Path, typer.Argument(help="Model JSON (scorecard or LightGBM sidecar).")],
    dev: Annotated[Path, typer.Argument(help="Development sample (Parquet or CSV).")],
    target: Target,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html and figures/.")],
    oot: Annotated[Path | None, typer.Option("--oot", help="Out-of-time sample.")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for intervals.")] = 200,
    quiet: Quiet = False,
) -> None:
    """Write the validation report: self-contained HTML with PNG figures."""
    from fengkong.modeling import Sample, model_report  # noqa: PLC0415

    with user_errors():
        art = load_artifact(model)
        samples = []
        for name, path in (("development", dev), ("out-of-time", oot)):
            if path is None:
                continue
            frame = read_table(path)
            if target not in frame.columns:
                raise InvalidArgumentError("--target", expected=f"a column of {path}", got=target)
            samples.append(Sample(name, frame, frame[target]))
        with progress_bar("writing report", 1, quiet=quiet) as advance:
            html = model_report(
                art,
                samples[0],
                _out_dir(out),
                oot=samples[1] if len(samples) > 1 else None,
                n_boot=bootstrap,
            )
            advance(1)
        console.print(f"report written to {html}")


@app.command("dataset")
def dataset(
    book: Annotated[Path, typer.Argument(help="A synthetic book folder (fengkong synth).")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    target: Annotated[
        str, typer.Option(help="Oracle outcome: ever_90dpd, ever_30dpd or first_payment_default.")
    ] = "ever_90dpd",
    quiet: Quiet = False,
) -> None:
    """Application-time features with outcomes (declined ones too) from a synthetic book."""
    from fengkong.modeling import application_dataset  # noqa: PLC0415
    from fengkong.synth import read_book  # noqa: PLC0415

    with user_errors():
        if target not in ("ever_90dpd", "ever_30dpd", "first_payment_default"):
            raise InvalidArgumentError(
                "--target", expected="ever_90dpd, ever_30dpd or first_payment_default", got=target
            )
        with progress_bar("building the dataset", 2, quiet=quiet) as advance:
            loaded = read_book(book)
            advance(1)
            data = application_dataset(loaded, target=target)
            data.write_parquet(out)
            advance(1)
        console.print(
            f"{data.height:,} applications ({data['accepted'].sum():,} accepted) -> {out}"
        )
