"""fengkong (风控): open-source credit risk control across the consumer-loan lifecycle.

The curated public API; subpackages hold the engines (``fengkong.synth``, ``fengkong.portfolio``
and, as they land, features, graph, modeling, policy, servicing and collections).

>>> import fengkong
>>> fengkong.Money.of("19.995").fen
2000
"""

from importlib.metadata import PackageNotFoundError, version

from fengkong.errors import (
    ConfigError,
    FengkongError,
    InvalidArgumentError,
    NotFittedError,
    NotFoundError,
    OutputError,
    Problem,
)
from fengkong.money import Money
from fengkong.settings import Settings

try:
    __version__ = version("fengkong")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "ConfigError",
    "FengkongError",
    "InvalidArgumentError",
    "Money",
    "NotFittedError",
    "NotFoundError",
    "OutputError",
    "Problem",
    "Settings",
    "__version__",
]
