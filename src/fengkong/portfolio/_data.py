"""Reading the portfolio package's data files (thresholds, costs) or a user's replacement."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fengkong.errors import ConfigError, Problem

__all__ = ["read_data_file"]


def read_data_file(path: str | Path | None, default: str) -> tuple[dict[str, Any], str]:
    """The parsed YAML mapping (``schema_version: 1``) and the file's name for problems.

    ``path`` None reads the shipped ``portfolio/data/<default>``.
    """
    if path is None:
        name = default
        text = resources.files("fengkong.portfolio").joinpath(f"data/{default}").read_text("utf-8")
    else:
        name = Path(path).name
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([Problem(name, "", f"cannot read: {exc}")]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(name, "", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise ConfigError([Problem(name, "schema_version", "expected schema_version: 1")])
    return data, name
