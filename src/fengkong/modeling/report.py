"""The model validation report: one self-contained HTML file plus its PNG figures.

:func:`model_report` validates a fitted :class:`~fengkong.modeling.Scorecard` or
:class:`~fengkong.modeling.GBMClassifier` on a development sample and, optionally, an
out-of-time sample: AUC, Gini and KS with bootstrap intervals, Brier score, Hosmer–Lemeshow,
gains by decile, score PSI and per-variable CSI between the samples, the IV ranking and the
binning chart of every variable. Figures are written as PNG files under ``figures/`` and
embedded in ``report.html`` (base64), so the HTML opens anywhere, offline.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fengkong.errors import InvalidArgumentError, OutputError
from fengkong.modeling._input import as_frame, check_binary_target
from fengkong.modeling.artifact import ScorecardModel
from fengkong.modeling.gbm import GBMArtifact
from fengkong.modeling.metrics import (
    bootstrap,
    brier_score,
    gains_table,
    gini,
    hosmer_lemeshow,
    ks_statistic,
    psi_table,
    roc_auc,
    roc_curve,
)

__all__ = ["Sample", "characteristic_stability", "model_report", "sample_metrics"]


@dataclass(frozen=True, slots=True)
class Sample:
    """A named sample: features and 0/1 outcomes."""

    name: str
    X: Any
    y: Any


def sample_metrics(y: Any, p: Any, *, n_boot: int = 200, seed: int = 0) -> dict[str, float]:
    """Discrimination and calibration of a probability of bad on one sample."""
    yy = check_binary_target(y)
    pp = np.asarray(p, dtype=np.float64)
    auc = bootstrap(roc_auc, yy, pp, n_boot=n_boot, seed=seed)
    ks = bootstrap(ks_statistic, yy, pp, n_boot=n_boot, seed=seed)
    hl = hosmer_lemeshow(yy, pp)
    return {
        "rows": float(yy.size),
        "bad_rate": float(yy.mean()),
        "auc": auc.value,
        "auc_low": auc.low,
        "auc_high": auc.high,
        "gini": gini(yy, pp),
        "ks": ks.value,
        "ks_low": ks.low,
        "ks_high": ks.high,
        "brier": brier_score(yy, pp),
        "hl_statistic": hl.statistic,
        "hl_p_value": hl.p_value,
    }


def _artifact(model: Any) -> Any:
    """The scoring artifact behind a fitted estimator (or the artifact itself)."""
    for attr in ("model_", "artifact_"):
        if hasattr(model, attr):
            return getattr(model, attr)
    if isinstance(model, ScorecardModel | GBMArtifact):
        return model
    raise InvalidArgumentError(
        "model",
        expected="a fitted Scorecard or GBMClassifier, or their ScorecardModel / GBMArtifact",
        got=type(model).__name__,
    )


def characteristic_stability(model: Any, expected: Any, actual: Any) -> pl.DataFrame:
    """CSI of every model variable between two samples, by the variable's bins.

    Scorecards use their bins; for other models numeric variables use deciles of the expected
    sample and categorical ones their levels.
    """
    art = _artifact(model)
    xe, xa = as_frame(expected), as_frame(actual)
    rows = []
    tables = {v.name: v.table for v in art.variables} if isinstance(art, ScorecardModel) else {}
    for name in art.features:
        edges: np.ndarray
        if name in tables:
            t = tables[name]
            ie = t.assign(xe.get_column(name)).astype(float)
            ia = t.assign(xa.get_column(name)).astype(float)
            edges = np.arange(t.n_bins - 1) + 0.5
        else:
            se, sa = xe.get_column(name), xa.get_column(name)
            if se.dtype.is_numeric():
                ie = np.nan_to_num(se.cast(pl.Float64).fill_null(np.nan).to_numpy(), nan=-np.inf)
                ia = np.nan_to_num(sa.cast(pl.Float64).fill_null(np.nan).to_numpy(), nan=-np.inf)
                finite = ie[np.isfinite(ie)]
                edges = (
                    np.unique(np.quantile(finite, np.linspace(0, 1, 11)[1:-1]))
                    if finite.size
                    else np.empty(0)
                )
            else:
                levels = {v: k for k, v in enumerate(sorted(se.drop_nulls().unique().to_list()))}
                ie = se.replace_strict(levels, default=-1, return_dtype=pl.Float64).to_numpy()
                ia = sa.replace_strict(levels, default=-1, return_dtype=pl.Float64).to_numpy()
                edges = np.arange(-1, len(levels)) + 0.5
        rows.append({"variable": name, "csi": float(psi_table(ie, ia, edges=edges)["psi"].sum())})
    return pl.DataFrame(rows).sort("csi", descending=True)


def _png(fig: Any, folder: Path, name: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    fig.savefig(folder / f"{name}.png", dpi=110)
    import matplotlib.pyplot as plt  # noqa: PLC0415 (reports only)

    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}"></figure>'


def _table(frame: pl.DataFrame, digits: int = 4) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = []
        for v in row:
            text = f"{v:.{digits}f}" if isinstance(v, float) else ("" if v is None else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;
padding:3px 8px;text-align:right}th{background:#f0f3f7}h2{border-bottom:2px solid #8fb3d9}
img{max-width:100%}figure{margin:1em 0}"""


def model_report(
    model: Any,
    dev: Sample,
    out: str | Path,
    *,
    oot: Sample | None = None,
    title: str = "Model validation report",
    n_boot: int = 200,
) -> Path:
    """Write ``out/report.html`` and ``out/figures/*.png``; returns the HTML path.

    ``model`` is a fitted :class:`~fengkong.modeling.Scorecard` or
    :class:`~fengkong.modeling.GBMClassifier`, or their saved artifact; a scorecard is
    validated through its points (what production scores).
    """
    from fengkong.modeling import plots  # noqa: PLC0415 (matplotlib is heavy)

    art = _artifact(model)
    folder = Path(out)
    figures = folder / "figures"
    try:
        figures.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(str(folder), str(exc)) from exc
    samples = [dev] + ([oot] if oot is not None else [])
    is_card = isinstance(art, ScorecardModel)
    scores, probs, ys = {}, {}, {}
    for s in samples:
        frame = as_frame(s.X)
        ys[s.name] = check_binary_target(s.y, n_rows=frame.height)
        if is_card:
            scores[s.name] = art.score_frame(frame).cast(pl.Float64).to_numpy()
            probs[s.name] = art.probability(scores[s.name])
        else:
            probs[s.name] = art.predict_proba(frame)
            scores[s.name] = probs[s.name]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Model: {html.escape(art.name)} version {html.escape(art.version)} "
        f"({'scorecard' if is_card else 'LightGBM'}); variables: "
        f"{html.escape(', '.join(art.features))}</p>",
    ]
    if is_card:
        parts.append(
            "<p>Probabilities are those the scorecard's points imply through its "
            "scaling, i.e. what production scores.</p>"
        )
    metrics = pl.DataFrame(
        [{"sample": n, **sample_metrics(ys[n], probs[n], n_boot=n_boot)} for n in probs]
    )
    parts += [
        "<h2>Discrimination and calibration</h2>",
        "<p>AUC and KS with 95% bootstrap intervals (stratified, "
        f"{n_boot} resamples); Hosmer–Lemeshow over probability deciles.</p>",
        _table(metrics),
    ]
    curves = {n: roc_curve(ys[n], probs[n])[:2] for n in probs}
    parts.append(_png(plots.plot_roc(curves), figures, "roc"))
    last = samples[-1].name
    fpr, tpr = curves[last]
    parts.append(_png(plots.plot_ks(fpr, tpr), figures, "ks"))
    parts += [
        "<h2>Score distribution</h2>",
        _png(plots.plot_distribution(scores), figures, "score_distribution"),
    ]
    hl = hosmer_lemeshow(ys[last], probs[last])
    parts += [
        f"<h2>Calibration ({html.escape(last)})</h2>",
        _png(
            plots.plot_calibration(
                hl.table["mean_p"].to_numpy(), hl.table["observed_rate"].to_numpy()
            ),
            figures,
            "calibration",
        ),
        _table(hl.table),
    ]
    parts += [
        f"<h2>Gains by decile ({html.escape(last)})</h2>",
        _table(gains_table(ys[last], probs[last])),
    ]
    if oot is not None:
        stab = psi_table(scores[dev.name], scores[oot.name])
        parts += [
            "<h2>Stability between development and out-of-time</h2>",
            f"<p>Score PSI: {stab['psi'].sum():.4f} (below 0.1 stable, above 0.25 shifted).</p>",
            _table(stab),
            "<h3>Characteristic stability (CSI)</h3>",
            _table(characteristic_stability(art, dev.X, oot.X)),
        ]
    if is_card:
        ranking = pl.DataFrame(
            [
                {
                    "variable": v.name,
                    "iv": v.table.iv,
                    "ks": v.table.ks,
                    "bins": v.table.n_regular,
                    "trend": v.table.trend,
                    "coefficient": v.coefficient,
                }
                for v in art.variables
            ]
        ).sort("iv", descending=True)
        parts += ["<h2>Information value (development bins)</h2>", _table(ranking)]
        parts.append(
            _png(
                plots.plot_iv(ranking["variable"].to_list(), ranking["iv"].to_numpy()),
                figures,
                "iv_ranking",
            )
        )
        for v in art.variables:
            parts.append(f"<h3>{html.escape(v.name)}</h3>")
            parts.append(_png(v.table.plot(), figures, f"binning_{v.name}"))
        parts += ["<h2>Points table</h2>", _table(art.points_table())]
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
