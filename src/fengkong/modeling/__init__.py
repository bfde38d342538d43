"""Modeling: optimal binning, WoE, scorecards, gradient boosting, validation and reject inference."""

from fengkong.modeling.artifact import Reason, ScorecardModel, ScorecardVariable, ScoredRow
from fengkong.modeling.binning import BinningParams, OptimalBinning, fit_variable
from fengkong.modeling.process import BinningProcess, UnseenCategoryWarning, load_bin_edits
from fengkong.modeling.scorecard import Scorecard
from fengkong.modeling.table import BinningTable

__all__ = [
    "BinningParams",
    "BinningProcess",
    "BinningTable",
    "OptimalBinning",
    "Reason",
    "Scorecard",
    "ScorecardModel",
    "ScorecardVariable",
    "ScoredRow",
    "UnseenCategoryWarning",
    "fit_variable",
    "load_bin_edits",
]
