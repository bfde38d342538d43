"""Modeling: optimal binning, WoE, scorecards, gradient boosting, validation and reject inference.

The pieces, in the order an analyst uses them: :class:`BinningProcess` (optimal binning of a
frame, :class:`BinningTable` per variable), :func:`select_variables`, :class:`Scorecard` (its
fitted :class:`ScorecardModel` scores rows and exports JSON and SQL), :class:`GBMClassifier`
(LightGBM, exported as :class:`GBMArtifact`), :mod:`~fengkong.modeling.metrics`,
:func:`infer_rejects` and :func:`model_report`.
"""

from fengkong.modeling.artifact import Reason, ScorecardModel, ScorecardVariable, ScoredRow
from fengkong.modeling.binning import BinningParams, OptimalBinning, fit_variable
from fengkong.modeling.dataset import APPLICATION_FEATURES, application_dataset
from fengkong.modeling.gbm import GBMArtifact, GBMClassifier
from fengkong.modeling.process import BinningProcess, UnseenCategoryWarning, load_bin_edits
from fengkong.modeling.reject import evaluate_reject_inference, infer_rejects
from fengkong.modeling.report import Sample, characteristic_stability, model_report
from fengkong.modeling.scorecard import Scorecard
from fengkong.modeling.selection import Selection, select_variables
from fengkong.modeling.table import BinningTable

__all__ = [
    "APPLICATION_FEATURES",
    "BinningParams",
    "BinningProcess",
    "BinningTable",
    "GBMArtifact",
    "GBMClassifier",
    "OptimalBinning",
    "Reason",
    "Sample",
    "Scorecard",
    "ScorecardModel",
    "ScorecardVariable",
    "ScoredRow",
    "Selection",
    "UnseenCategoryWarning",
    "application_dataset",
    "characteristic_stability",
    "evaluate_reject_inference",
    "fit_variable",
    "infer_rejects",
    "load_bin_edits",
    "model_report",
    "select_variables",
]
