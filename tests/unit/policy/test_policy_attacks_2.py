"""More attacks on the decision engine (second round): each test fails today on a real bug.

The promises are those of docs/policy.md and docs/collections.md: a policy file is data;
``load_policy`` returns a checked policy or raises ``ConfigError`` naming the dotted path, and
nothing else; the row backend (``decide``) and the batch backend (``decide_frame``) agree on
every input; the table check is exact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fengkong.errors import ConfigError
from fengkong.policy import load_policy

BASE: dict[str, Any] = {"schema_version": 1, "inputs": {"age": {"type": "integer"}}}
BIG = 10**5000  # more digits than Python will turn into text (sys.get_int_max_str_digits)


def load_or_problems(data: Any) -> Any:
    """``load_policy(data)``: a policy or the ``ConfigError``; any other exception fails."""
    try:
        return load_policy(data)
    except ConfigError as exc:
        return exc
    except Exception as exc:  # the promise: never any other exception
        pytest.fail(f"load_policy raised {type(exc).__name__}: {str(exc)[:200]}")


def agree(policy, apps: list[dict], schema: dict) -> None:
    frame = policy.decide_frame(pl.DataFrame(apps, schema=schema, orient="row"))
    for k, app in enumerate(apps):
        d, b = policy.decide(app), frame.row(k, named=True)
        assert (d.decision, list(d.reasons)) == (b["decision"], b["reasons"]), app
        for name, value in d.outputs.items():
            assert value == b[name] and type(value) is type(b[name]), (app, name, value, b[name])
        for name, row in d.table_rows.items():
            assert row == b.get(f"{name}_row", b.get(f"{name}_rows")), (app, name)


# --------------------------------------------------------------------------------------------
# load_policy: a policy or ConfigError, never another exception


def _one_row_table(**row: Any) -> dict:
    return {**BASE, "tables": {"t": {"inputs": ["age"], "outputs": ["x"], "rows": [row]}}}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({**BASE, "schema_version": BIG}, "schema_version"),
        ({**BASE, "version": BIG}, "version"),
        ({**BASE, "name": BIG}, "name"),
        ({**BASE, "description": BIG}, "description"),
        ({"schema_version": 1, "inputs": {"age": {"type": "integer", "min": BIG}}}, "inputs"),
        ({"schema_version": 1, "inputs": {"age": {"type": BIG}}}, "inputs"),
        ({**BASE, "rules": [{"id": BIG, "when": "age > 1", "action": "refer"}]}, "rules"),
        ({**BASE, "rules": [{"id": "R", "when": "age > 1", "action": BIG}]}, "rules"),
        (_one_row_table(when={}, then={"x": BIG}), "tables"),
        ({**BASE, "arms": {"unit": "age", "salt": "s", "shares": {"a": BIG}}}, "arms"),
        (
            {**BASE, "trees": {"t": {"outputs": ["x"], "root": {"leaf": "A", "set": {"x": BIG}}}}},
            "trees",
        ),
    ],
    ids=[
        "schema_version",
        "version",
        "name",
        "description",
        "input-min",
        "input-type",
        "rule-id",
        "rule-action",
        "table-then",
        "arm-share",
        "tree-set",
    ],
)
def test_a_huge_integer_is_a_config_error(data, path):
    """Promise 2: ``load_policy`` raises ``ConfigError`` (at the value's path), never another
    exception. An integer of more than 4,300 digits anywhere in the mapping escapes as a
    ``ValueError`` ("Exceeds the limit (4300 digits) for integer string conversion"): the
    checker formats the value with ``repr``/``str`` in its messages (spec.py ``_bound``,
    ``check_policy``'s ``schema_version``/``version``, ``label_problem``, ``output_types`` …)."""
    found = load_or_problems(data)
    assert isinstance(found, ConfigError), "accepted"
    assert any(p.path.startswith(path) for p in found.problems), [p.path for p in found.problems]


def test_a_huge_integer_in_a_yaml_file_is_a_config_error(tmp_path: Path):
    """Promise 2 for a file: a 5,000-digit number in the YAML (here in ``description``) makes
    PyYAML's int constructor raise ``ValueError``, which ``load_policy`` does not catch (it
    catches only ``OSError``, ``UnicodeDecodeError`` and ``yaml.YAMLError``); a hex number
    of 4,000 digits passes YAML and crashes in the ``min`` check's message instead."""
    decimal = tmp_path / "decimal.yaml"
    decimal.write_text(
        "schema_version: 1\ninputs: {age: {type: integer}}\ndescription: " + "1" * 5000 + "\n"
    )
    hexadecimal = tmp_path / "hex.yaml"
    hexadecimal.write_text(
        "schema_version: 1\ninputs: {age: {type: integer, max: 0x" + "f" * 4000 + "}}\n"
    )
    for file in (decimal, hexadecimal):
        found = load_or_problems(file)
        assert isinstance(found, ConfigError), f"{file.name} accepted"


def test_an_inline_variable_spec_of_the_wrong_shape_is_a_config_error():
    """Promise 2: ``variables:`` may hold a spec's YAML text inline (``_spec_variables`` hands
    any text that is not a file or a shipped name to ``load_spec``), and a source whose
    ``columns`` is a number makes the features loader raise ``AttributeError`` ('int' object
    has no attribute 'items'), which ``_spec_variables`` does not catch (only ``OSError`` and
    ``ValueError``)."""
    spec = "{schema_version: 1, sources: {a: {columns: 5}}}"
    found = load_or_problems({**BASE, "variables": spec})
    assert isinstance(found, ConfigError), "accepted"
    assert any(p.path == "variables" for p in found.problems)


# --------------------------------------------------------------------------------------------
# a policy file is data: a tree decides as it is written


def test_a_comment_in_a_tree_test_does_not_rewrite_the_tree():
    """Promise 1 (text is data, never code): ``_tree`` builds each output by pasting the tests'
    *text* into one expression, ``f"({yes}) if ({test}) else ({no})"``. A test is valid on
    its own with a ``#`` comment (as a rule's ``when`` it loads), but pasted, the comment
    swallows the rest of the line — the structure of the tree — up to a newline in a later
    test, so the tree is re-parsed as another tree: here ``(1) if (age > 1 -1 > age) else
    (4)``. The written tree gives x = 1 for age 2 (root true, then ``age > 1`` true); the
    engine gives x = 4, a leaf on the other side of the root. (A lone ``age > 1  # adults`` test makes the tree fail to load with a bogus
    "'(' was never closed".)"""
    tree = {
        "outputs": ["x"],
        "root": {
            "if": "age > 1",
            "then": {
                "if": "age > 1  # adults",
                "then": {"leaf": "A", "set": {"x": 1}},
                "else": {"leaf": "B", "set": {"x": 2}},
            },
            "else": {
                "if": "\n-1 > age",
                "then": {"leaf": "C", "set": {"x": 3}},
                "else": {"leaf": "D", "set": {"x": 4}},
            },
        },
    }
    found = load_or_problems({**BASE, "trees": {"tr": tree}, "outputs": {"o": "tr_x"}})
    if isinstance(found, ConfigError):
        return  # refusing the comment is fine; deciding another tree is not
    decided = found.decide({"age": 2})
    assert decided.outputs["o"] == 1, f"the tree as written gives 1, the engine {decided.outputs}"
    assert decided.audit.variables["tr_leaf"] == "A"


def test_a_tree_leaf_may_set_the_smallest_int64():
    """A tree leaf's value is typed like a table cell's (``output_types`` accepts every int64),
    then written back as text with ``repr`` and re-parsed: ``-9223372036854775808`` parses as
    ``-(9223372036854775808)`` and that constant is outside int64, so the tree is refused with
    a type mismatch pointing at ``trees.tr`` (the same value in a table loads)."""
    tree = {
        "outputs": ["x"],
        "root": {
            "if": "age > 1",
            "then": {"leaf": "A", "set": {"x": -(2**63)}},
            "else": {"leaf": "B", "set": {"x": 0}},
        },
    }
    found = load_or_problems({**BASE, "trees": {"tr": tree}, "outputs": {"o": "tr_x"}})
    assert not isinstance(found, ConfigError), [str(p) for p in found.problems]
    assert found.decide({"age": 2}).outputs["o"] == -(2**63)


# --------------------------------------------------------------------------------------------
# the table check is exact


_MAX_FLOAT = "1.7976931348623157e308"


@pytest.mark.parametrize("cell", [f"<= {_MAX_FLOAT}", f">= -{_MAX_FLOAT}"])
def test_no_gap_is_reported_beyond_the_largest_float(cell):
    """Promise 4: a table whose rows cover every finite number and null has no gap (±inf is
    ``DQ_RANGE`` and read as null, so no input is ever ±inf). ``_numeric_reps`` picks
    ``points[-1] + max(1, |p|)`` above the last cut point, which overflows to ``inf``
    (``nextafter(max, inf)`` is ``inf`` too; the same below), and reports
    "gap: no row matches {'f': inf}"."""
    data = {
        "schema_version": 1,
        "inputs": {"f": {"type": "number", "required": False}},
        "tables": {
            "t": {
                "inputs": ["f"],
                "outputs": ["x"],
                "rows": [
                    {"when": {"f": cell}, "then": {"x": 1}},
                    {"when": {"f": "null"}, "then": {"x": 2}},
                ],
            }
        },
    }
    found = load_or_problems(data)
    assert not isinstance(found, ConfigError), [str(p) for p in found.problems]


def _list_reader(cell: str) -> dict:
    collect = {
        "hit": "collect",
        "inputs": ["age"],
        "outputs": ["x"],
        "rows": [
            {"when": {"age": "> 1"}, "then": {"x": 1}},
            {"when": {}, "then": {"x": 2}},
        ],
    }
    reader = {
        "inputs": ["c_rows"],
        "outputs": ["y"],
        "rows": [{"when": {"c_rows": cell}, "then": {"y": 1}}],
    }
    return {**BASE, "tables": {"c": collect, "r": reader}, "outputs": {"o": "r_y"}}


def test_a_table_reading_a_collect_list_is_refused_at_its_inputs():
    """Promise 4: a collect table's ``<t>_rows`` is a list, never null (``[]`` when no row
    matches); no cell can test a list, so the checker could only report false gaps and
    unreachable rows over it. A table reading one is refused at its inputs instead."""
    found = load_or_problems(_list_reader("not null"))
    assert isinstance(found, ConfigError)
    assert [p.path for p in found.problems] == ["tables.r.inputs"]


def test_a_table_reading_a_collect_list_with_a_real_gap():
    """Promises 3 and 4: the table whose one row is ``null`` over a collect list matches no
    application (a gap the checker misses: it loads), and the batch backend crashes on it:
    ``RegionIndex.rows`` maps the non-null list to region 1 of a one-region index
    (``IndexError: index 1 is out of bounds``) while the row backend decides."""
    found = load_or_problems(_list_reader("null"))
    if isinstance(found, ConfigError):
        return  # the gap reported: fine
    agree(found, [{"age": 1}, {"age": 5}], {"age": pl.Int64})


# --------------------------------------------------------------------------------------------
# row and batch backends agree


def test_a_rule_id_spelled_like_a_data_quality_reason():
    """Promise 3: a rule id may be any label, ``DQ_MISSING:age`` included (``LABEL`` allows
    ``:``), and the rule's reason then repeats the data-quality reason. The row backend keeps
    both (``('DQ_MISSING:age', 'DQ_MISSING:age')``: it deduplicates only when a model adds
    reasons), the batch backend deduplicates every list (``_reason_lists``), so the reasons
    differ. (Either refuse ids that read as engine reasons, ``DQ_*:``/``CAP:``, or agree.)"""
    data = {
        **BASE,
        "rules": [{"id": "DQ_MISSING:age", "when": "is_null(age)", "action": "refer"}],
    }
    found = load_or_problems(data)
    if isinstance(found, ConfigError):
        return
    agree(found, [{"age": None}, {"age": 3}], {"age": pl.Int64})
