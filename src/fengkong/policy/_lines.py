"""Line numbers of dotted paths in a YAML document: moved to :mod:`fengkong._yaml_lines`
(shared with the variable specs); this name stays for :mod:`fengkong.policy.spec`'s import."""

from __future__ import annotations

from fengkong._yaml_lines import line_of, yaml_lines

__all__ = ["line_of", "yaml_lines"]
