"""Small HTML pieces shared by the self-contained reports (tables, the page shell)."""

from __future__ import annotations

import html

import polars as pl

__all__ = ["html_page", "html_table"]

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
)


def html_table(frame: pl.DataFrame) -> str:
    """A frame as an HTML table (floats to 4 decimals, text escaped).

    >>> html_table(pl.DataFrame({"a": [1.0], "b": ["<x>"]}))
    '<table><tr><th>a</th><th>b</th></tr><tr><td>1.0000</td><td>&lt;x&gt;</td></tr></table>'
    """
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows():
        cells = "".join(
            f"<td>{v:.4f}</td>" if isinstance(v, float) else f"<td>{html.escape(str(v))}</td>"
            for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def html_page(title: str, parts: list[str]) -> str:
    """A complete page around ``parts`` (already HTML)."""
    head = f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{_STYLE}</style>"
    return f"<!doctype html><html><head>{head}</head><body>{''.join(parts)}</body></html>"
