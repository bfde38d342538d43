"""Matplotlib figures for binning tables and validation (the model report's PNGs).

Imported lazily: matplotlib is heavy and only reports need it. Figures use the non-interactive
Agg backend so they render without a screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from fengkong.modeling.table import BinningTable

__all__ = ["plot_binning", "plot_calibration", "plot_distribution", "plot_ks", "plot_roc"]


def plot_binning(table: BinningTable, ax: Any = None) -> Any:
    """Count share per bin (bars) and event rate (line, right axis)."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 4))
    t = table.to_polars()
    x = np.arange(t.height)
    ax.bar(x, t["count_share"].to_numpy(), color="#8fb3d9", label="count share")
    ax.set_xticks(x, t["bin"].to_list(), rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("share of rows")
    ax2 = ax.twinx()
    ax2.plot(
        x, t["event_rate"].fill_null(np.nan).to_numpy(), "o-", color="#c0392b", label="event rate"
    )
    ax2.set_ylabel("event (bad) rate")
    ax.set_title(f"{table.name}: IV {table.iv:.3f}, trend {table.trend}")
    fig.tight_layout()
    return fig


def plot_iv(names: list[str], iv: np.ndarray, ax: Any = None) -> Any:
    """Horizontal bars of information value, best first."""
    fig, ax = (
        (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 0.35 * len(names) + 1))
    )
    ax.barh(names[::-1], np.asarray(iv)[::-1], color="#8fb3d9")
    ax.set_xlabel("information value")
    fig.tight_layout()
    return fig


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], ax: Any = None) -> Any:
    """ROC curves, one per sample name -> (fpr, tpr)."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 5))
    for name, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("false-positive rate (goods)")
    ax.set_ylabel("true-positive rate (bads)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_ks(fpr: np.ndarray, tpr: np.ndarray, ax: Any = None) -> Any:
    """Cumulative bad and good shares by score rank, with the KS gap marked."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    q = np.linspace(0, 1, tpr.size)
    ax.plot(q, tpr, label="cumulative bads")
    ax.plot(q, fpr, label="cumulative goods")
    k = int(np.argmax(tpr - fpr))
    ax.vlines(
        q[k], fpr[k], tpr[k], colors="black", linestyles="--", label=f"KS {tpr[k] - fpr[k]:.3f}"
    )
    ax.set_xlabel("share of rows, riskiest first")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_distribution(samples: dict[str, np.ndarray], ax: Any = None, bins: int = 30) -> Any:
    """Overlaid histograms of scores per sample."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    for name, values in samples.items():
        ax.hist(values, bins=bins, alpha=0.5, density=True, label=name)
    ax.set_xlabel("score")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_calibration(mean_p: np.ndarray, observed: np.ndarray, ax: Any = None) -> Any:
    """Observed bad rate against mean predicted probability by band."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 5))
    top = float(max(np.max(mean_p), np.max(observed))) * 1.05
    ax.plot([0, top], [0, top], ":", color="grey")
    ax.plot(mean_p, observed, "o-")
    ax.set_xlabel("mean predicted probability of bad")
    ax.set_ylabel("observed bad rate")
    fig.tight_layout()
    return fig
