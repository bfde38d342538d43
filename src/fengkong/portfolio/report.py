"""The monthly portfolio report: one self-contained HTML page, its tables and its figures.

:func:`portfolio_report` computes, from a book's loans and month-end snapshots (and, when
given, its applications with outcomes and its collection attempts):

* the pool at the last month end: overview, ABS-style stratification, pool summary;
* vintage curves (ever 30+/90+ by balance, per origination month), the roll-rate matrix over
  the last months, flow and loss rates;
* monitoring: score PSI and variable CSI by application month against the first months,
  discrimination (AUC/KS) by month on matured outcomes, approval and bad rates by segment;
* collections: contact funnel and recovery and cost by channel;
* alerts from the threshold rules (data).

It writes ``report.html`` (interactive Plotly charts with plotly.js embedded once, so the page
works offline), ``figures/*.png`` (matplotlib) and every table as ``tables/<name>.parquet``
and ``.csv``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from fengkong.errors import OutputError
from fengkong.portfolio.collection_performance import (
    ChannelCost,
    contact_funnel,
    recovery_by_channel,
)
from fengkong.portfolio.monitoring import (
    AlertRule,
    check_alerts,
    decision_rates,
    discrimination_by_month,
    score_psi_by_month,
    variable_csi_by_month,
)
from fengkong.portfolio.panel import monthly_panel
from fengkong.portfolio.rolls import flow_rates, loss_rates, roll_matrix, roll_rates
from fengkong.portfolio.strata import pool_loans, pool_overview, stratify
from fengkong.portfolio.vintage import vintage_curves

__all__ = [
    "ApplicationsView",
    "PortfolioReport",
    "book_applications_view",
    "book_loan_attributes",
    "portfolio_report",
]


@dataclass(frozen=True, slots=True)
class ApplicationsView:
    """Applications for monitoring: one row per application with its month, score and outcome.

    ``frame`` needs ``month`` (date), ``score``, ``decision`` (approve/decline), ``bad``
    (null while not matured) and the ``variables`` and ``segments`` columns.
    ``higher_is_riskier`` says how to read the score (False for scorecard points).
    """

    frame: pl.DataFrame
    variables: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    reference_months: int = 3
    higher_is_riskier: bool = False


@dataclass(frozen=True, slots=True)
class PortfolioReport:
    """What :func:`portfolio_report` wrote: the HTML path and every table by name."""

    html: Path
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def _monitoring(view: ApplicationsView) -> dict[str, pl.DataFrame]:
    frame = view.frame.sort("month")
    months = frame["month"].unique().sort()
    ref_months = months.head(view.reference_months)
    reference = frame.filter(pl.col("month").is_in(ref_months.implode()))
    out = {
        "score_psi": score_psi_by_month(reference["score"].to_numpy(), frame),
        "discrimination": discrimination_by_month(frame, higher_is_riskier=view.higher_is_riskier),
    }
    if view.variables:
        out["variable_csi"] = variable_csi_by_month(reference, frame, view.variables)
    if view.segments:
        out["decision_rates"] = decision_rates(frame, by=list(view.segments))
    return out


def _subplots(width: float, height: float) -> tuple[Any, Any]:
    """A matplotlib figure without pyplot (no global state, no display needed)."""
    from matplotlib.figure import Figure  # noqa: PLC0415 (heavy; only reports need it)

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _png(fig: Any, folder: Path, name: str) -> None:
    fig.tight_layout()
    fig.savefig(folder / f"{name}.png", dpi=110)


def _figures(tables: Mapping[str, pl.DataFrame], folder: Path) -> list[tuple[str, Any]]:
    """Plotly figures for the page and matching PNGs."""
    import plotly.graph_objects as go  # noqa: PLC0415 (heavy; only reports need it)

    out: list[tuple[str, Any]] = []
    curves = tables["vintage_curves"]
    fig = go.Figure()
    mfig, ax = _subplots(8, 4.5)
    for (vintage,), part in curves.sort("vintage", "mob").group_by("vintage", maintain_order=True):
        label = str(vintage)[:7]
        fig.add_trace(
            go.Scatter(
                x=part["mob"].to_list(), y=part["ever_30_plus"].to_list(), mode="lines", name=label
            )
        )
        ax.plot(part["mob"].to_numpy(), part["ever_30_plus"].to_numpy(), label=label)
    fig.update_layout(
        title="Vintage curves: ever 30+ DPD, share of original principal",
        xaxis_title="months on book",
        yaxis_tickformat=".1%",
    )
    ax.set_xlabel("months on book")
    ax.set_ylabel("ever 30+ (share of principal)")
    ax.legend(fontsize=6, ncol=2)
    _png(mfig, folder, "vintage_curves")
    out.append(("Vintage curves", fig))

    matrix = tables["roll_matrix"]
    states = matrix.columns[1:]
    z = matrix.select(states).to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=states,
            y=matrix["from_state"].to_list(),
            colorscale="Reds",
            texttemplate="%{z:.1%}",
        )
    )
    fig.update_layout(
        title="Roll rates (balance-weighted), from state to state", yaxis_autorange="reversed"
    )
    mfig, ax = _subplots(8, 5)
    ax.imshow(z, cmap="Reds", vmin=0, vmax=1)
    ax.set_xticks(range(len(states)), states, rotation=45)
    ax.set_yticks(range(matrix.height), matrix["from_state"].to_list())
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            ax.text(j, i, f"{z[i, j]:.0%}", ha="center", va="center", fontsize=7)
    ax.set_title("Roll rates (balance-weighted)")
    _png(mfig, folder, "roll_rates")
    out.append(("Roll-rate matrix", fig))

    for key in ("balance", "product", "status", "seasoning"):
        table = tables.get(f"strat_{key}")
        if table is None:
            continue
        label_col = table.columns[0]
        labels = [str(v) for v in table[label_col].to_list()]
        share = table["share_balance"].to_list()
        fig = go.Figure(go.Bar(x=labels, y=share))
        fig.update_layout(title=f"Pool by {key}: share of balance", yaxis_tickformat=".0%")
        mfig, ax = _subplots(7, 3.5)
        ax.bar(labels, share, color="#8fb3d9")
        ax.set_title(f"Pool by {key}: share of balance")
        ax.tick_params(axis="x", rotation=30, labelsize=7)
        _png(mfig, folder, f"strat_{key}")
        out.append((f"Stratification: {key}", fig))

    psi = tables.get("score_psi")
    if psi is not None:
        fig = go.Figure(
            go.Scatter(
                x=[str(m) for m in psi["month"].to_list()],
                y=psi["psi"].to_list(),
                mode="lines+markers",
            )
        )
        fig.update_layout(title="Score PSI by application month (vs the first months)")
        out.append(("Score stability", fig))
    return out


def _table_html(frame: pl.DataFrame, limit: int = 60) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(limit).iter_rows():
        cells = "".join(
            f"<td>{html.escape(f'{v:.4f}' if isinstance(v, float) else '' if v is None else str(v))}</td>"
            for v in row
        )
        rows.append(f"<tr>{cells}</tr>")
    more = f"<p>… {frame.height - limit} more rows in the CSV.</p>" if frame.height > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:12px}td,th{border:1px solid #ccc;
padding:2px 7px;text-align:right}th{background:#f0f3f7}h2{border-bottom:2px solid #8fb3d9}
.alert{color:#b00020;font-weight:bold}.warn{color:#a15c00}"""


def portfolio_report(
    loans: pl.DataFrame,
    performance: pl.DataFrame,
    out: str | Path,
    *,
    month: dt.date | None = None,
    applications: ApplicationsView | None = None,
    responses: pl.DataFrame | None = None,
    attributes: pl.DataFrame | None = None,
    roll_window: int = 6,
    alert_rules: Sequence[AlertRule] | None = None,
    costs: Mapping[str, ChannelCost] | None = None,
    title: str = "Portfolio report",
) -> PortfolioReport:
    """Compute the report's tables and write the HTML page, PNG figures and table files.

    ``month`` is the reporting month (default: the last snapshot month); ``attributes``
    (keyed by ``loan_id``: age, province, score …) adds stratification tables.
    """
    folder = Path(out)
    try:
        (folder / "figures").mkdir(parents=True, exist_ok=True)
        (folder / "tables").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(str(folder), str(exc)) from exc
    panel = monthly_panel(loans, performance)
    last = panel["month"].max() if month is None else dt.date(month.year, month.month, 1)
    assert isinstance(last, dt.date)
    start = pl.Series([last]).dt.offset_by(f"-{roll_window - 1}mo")[0]
    pool = pool_loans(panel, loans, month=last, attributes=attributes)
    tables: dict[str, pl.DataFrame] = {
        "pool_overview": pool_overview(pool),
        "vintage_curves": vintage_curves(panel.filter(pl.col("month") <= last)),
        "roll_rates": roll_rates(panel, start=start, end=last),
        "flow_rates": flow_rates(panel.filter(pl.col("month") <= last)),
        "loss_rates": loss_rates(panel.filter(pl.col("month") <= last)),
    }
    tables["roll_matrix"] = roll_matrix(tables["roll_rates"])
    for key, table in stratify(pool).items():
        tables[f"strat_{key}"] = table
    if applications is not None:
        tables.update(_monitoring(applications))
    if responses is not None:
        tables["collection_funnel"] = contact_funnel(responses)
        tables["collection_recovery"] = recovery_by_channel(responses, performance, costs=costs)
    tables["alerts"] = check_alerts(tables, alert_rules)
    for name, table in tables.items():
        table.write_parquet(folder / "tables" / f"{name}.parquet")
        flat = (
            table.with_columns(pl.col(pl.List(pl.Utf8)).list.join(", "))
            if any(isinstance(d, pl.List) for d in table.dtypes)
            else table
        )
        flat.write_csv(folder / "tables" / f"{name}.csv")
    figures = _figures(tables, folder / "figures")
    alerts = tables["alerts"]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Reporting month {last:%Y-%m}; roll rates over {start:%Y-%m} to {last:%Y-%m}. "
        "Tables: <code>tables/</code> (Parquet and CSV); figures: <code>figures/</code>.</p>",
        "<h2>Alerts</h2>",
    ]
    if alerts.height:
        parts.append(
            "<ul>"
            + "".join(
                f"<li class='{lv}'>{lv.upper()} {html.escape(r)}: {html.escape(c)} = {v:.4f} "
                f"({html.escape(w)}; threshold {t})</li>"
                for r, _, w, c, v, lv, t, _ in alerts.iter_rows()
            )
            + "</ul>"
        )
    else:
        parts.append("<p>No threshold crossed.</p>")
    parts += ["<h2>Pool</h2>", _table_html(tables["pool_overview"])]
    for k, (name, fig) in enumerate(figures):
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=(k == 0)))
    for name in (
        "roll_matrix",
        "flow_rates",
        "loss_rates",
        "score_psi",
        "discrimination",
        "variable_csi",
        "decision_rates",
        "collection_funnel",
        "collection_recovery",
    ):
        if name in tables:
            parts += [
                f"<h2>{html.escape(name.replace('_', ' ').capitalize())}</h2>",
                _table_html(tables[name]),
            ]
    for name in sorted(n for n in tables if n.startswith("strat_")):
        parts += [f"<h3>Stratification: {html.escape(name[6:])}</h3>", _table_html(tables[name])]
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return PortfolioReport(path, tables)


def book_loan_attributes(
    loans: pl.DataFrame, applications: pl.DataFrame, persons: pl.DataFrame
) -> pl.DataFrame:
    """Per loan of a synthetic book: borrower age at application, province and baseline score."""
    return (
        loans.select("loan_id", "application_id")
        .join(
            applications.select("application_id", "person_id", "age", "baseline_score"),
            on="application_id",
            how="left",
        )
        .join(persons.select("person_id", "province"), on="person_id", how="left")
        .select(
            "loan_id",
            pl.col("age").cast(pl.Int64),
            "province",
            pl.col("baseline_score").cast(pl.Int64).alias("score"),
        )
    )


def book_applications_view(
    applications: pl.DataFrame, oracle: pl.DataFrame, *, as_of: dt.date, maturity_months: int = 6
) -> ApplicationsView:
    """Monitoring input from a synthetic book: baseline score, decision, 90+ outcome.

    An approved application's outcome counts as matured once ``maturity_months`` have passed
    by ``as_of``; declined applications have no observed outcome.
    """
    cutoff = pl.Series([as_of]).dt.offset_by(f"-{maturity_months}mo")[0]
    frame = (
        applications.join(oracle.select("application_id", "ever_90dpd"), on="application_id")
        .with_columns(pl.col("applied_at").dt.date().dt.truncate("1mo").alias("month"))
        .select(
            "month",
            "channel",
            "product",
            "bureau_inquiries_3m",
            "bureau_open_loans",
            "age",
            pl.col("baseline_score").cast(pl.Float64).alias("score"),
            pl.col("baseline_decision").alias("decision"),
            pl.when((pl.col("baseline_decision") == "approve") & (pl.col("month") <= cutoff))
            .then(pl.col("ever_90dpd").cast(pl.Int8))
            .alias("bad"),
        )
    )
    return ApplicationsView(
        frame,
        variables=("bureau_inquiries_3m", "bureau_open_loans", "age"),
        segments=("channel",),
        higher_is_riskier=False,
    )
