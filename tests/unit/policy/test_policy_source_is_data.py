"""A policy file is data, never code.

Every place a name or a string enters a policy gets hostile values: Python that would run if
it were pasted into the generated source, quotes, backslashes, newlines, dunders, keywords,
names the engine keeps for itself, look-alike letters, over-long names, empty strings and
YAML values that are not strings at all. A name that cannot be a name is refused with a
problem naming its field; a string that is legitimately data (a category, a table or tree
output, a salt) reaches both backends verbatim. In every case the canary command never runs.
"""

import ast
import datetime as dt
import io
import tokenize
from importlib import resources

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from fengkong.cli.app import app
from fengkong.collections.strategy import load_strategy
from fengkong.errors import ConfigError
from fengkong.policy import load_policy

CANARY = "CANARY"
RUN = "__import__('os').system('touch CANARY')"
PAYLOADS = (
    f"application_id[{RUN}]",
    f"x'); {RUN}; ('",
    'x"); __import__("os").system("touch CANARY"); ("',
    f'"""; {RUN}; """',
    f"x\\'); {RUN} #",
    f"x\n{RUN}",
    RUN,
)
# refused wherever a variable name is expected
BAD_NAMES = (
    *PAYLOADS,
    '"""',
    "a\\b",
    "a\nb",
    "age\n",
    "__class__",
    "__builtins__",
    "if",
    "lambda",
    "None",
    "match",
    "arm",
    "decision",
    "reasons",
    "min",
    "年龄",
    "ａｇｅ",
    "ı",
    "a" * 65,
    "",
    "Age",
    "a b",
)
# YAML values that are not text: as mapping keys only the hashable ones can occur
NOT_TEXT_KEYS = (1, 1.5, None, True)
NOT_TEXT = (*NOT_TEXT_KEYS, ["age"], {"age": 1}, [])
# refused wherever a label (rule id, arm, leaf id, policy name) is expected
BAD_LABELS = (
    *PAYLOADS,
    '"""',
    "a\\b",
    "a\nb",
    "R01\n",
    "__class__",
    "_R01",
    "年龄",
    "ａｇｅ",
    "a b",
    "a" * 65,
    "",
)
# labels are not variables: a keyword or an engine word is a fine rule id, arm or leaf
GOOD_LABELS = ("if", "lambda", "None", "arm", "decision", "reasons", "min", "R-1.2:x", "a" * 64)
# texts that are data wherever a text value is expected
TEXTS = (
    *PAYLOADS,
    'it\'s "quoted" \\ 年',
    "line\nbreak\r\n\ttab",
    '"""',
    "'''",
    "\\",
    "{x} %s ${x} [bold]",
    "ａｇｅ ı 年龄",
    "",
)

APP = {
    "application_id": "A1",
    "application_date": dt.date(2026, 3, 1),
    "age": 30,
    "channel": "app",
}
SCHEMA = {
    "application_id": pl.String,
    "application_date": pl.Date,
    "age": pl.Int64,
    "channel": pl.String,
}


def base() -> dict:
    """A small valid policy with one of every node, to plant hostile values in."""
    return {
        "schema_version": 1,
        "name": "hostile",
        "version": "1",
        "description": "a policy",
        "inputs": {
            "application_id": {"type": "text", "description": "the id"},
            "application_date": {"type": "date"},
            "age": {"type": "integer"},
            "channel": {"type": "text", "categories": ["app", "h5"]},
        },
        "arms": {
            "unit": "application_id",
            "salt": "s1",
            "shares": {"champion": 90, "challenger": 10},
        },
        "derived": {"young": "age < 25"},
        "tables": {
            "limit": {
                "hit": "first",
                "inputs": ["age", "channel"],
                "outputs": ["limit_fen", "label"],
                "rows": [
                    {"when": {"age": "< 18"}, "then": {"limit_fen": 0, "label": "L00"}},
                    {"when": {"channel": "== h5"}, "then": {"limit_fen": 100000, "label": "L10"}},
                    {"when": {}, "then": {"limit_fen": 500000, "label": "L20"}},
                ],
            }
        },
        "trees": {
            "price": {
                "outputs": ["annual_rate", "band"],
                "root": {
                    "if": "young",
                    "then": {"leaf": "A", "set": {"annual_rate": 0.12, "band": "young"}},
                    "else": {"leaf": "B", "set": {"annual_rate": 0.08, "band": "adult"}},
                },
            }
        },
        "rules": [{"id": "R01", "when": "age < 18", "action": "decline"}],
        "outputs": {
            "limit": "coalesce(limit_limit_fen, 0)",
            "label": "limit_label",
            "band": "price_band",
            "leaf": "price_leaf",
            "rate": "price_annual_rate",
            "term": "12",
            "chan": "channel",
        },
        "pricing": {
            "product": "cash_loan",
            "jurisdiction": "cn",
            "lender_type": "private",
            "amount_fen": "limit",
            "annual_rate": "rate",
            "term_months": "term",
            "date": "application_date",
            "on_breach": "refer",
        },
    }


@pytest.fixture
def canary(tmp_path, monkeypatch):
    """The file the hostile payloads would create (in a fresh working folder)."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / CANARY
    yield path
    assert not path.exists(), "text from the policy file ran as code"


def refused(data: dict, canary) -> list:
    """The problems of a policy that must be refused (and that nothing ran)."""
    with pytest.raises(ConfigError) as err:
        load_policy(data)
    assert not canary.exists()
    return list(err.value.problems)


def assert_problem_at(problems: list, path: str) -> None:
    found = [p.path for p in problems]
    assert path in found, f"no problem at {path!r}; problems at {found}"


def decide_both(policy, app: dict = APP, schema: dict = SCHEMA):
    """One application through both backends, which must agree; (Decision, batch row)."""
    d = policy.decide(app)
    row = policy.decide_frame(pl.DataFrame([app], schema=schema)).row(0, named=True)
    assert row["decision"] == d.decision
    assert row["reasons"] == list(d.reasons)
    for name, value in d.outputs.items():
        assert row[name] == value, name
    assert row.get("arm") == d.arm
    return d, row


# --- names: refused, naming the field ---------------------------------------------------


def _table(output: str = "o") -> dict:
    return {"inputs": ["age"], "outputs": [output], "rows": [{"when": {}, "then": {output: 1}}]}


def _tree(output: str = "o") -> dict:
    return {"outputs": [output], "root": {"leaf": "A", "set": {output: 1}}}


def _artifact() -> dict:
    return {"artifact": "missing.json", "sha256": "0" * 64}


# (section, the body a new entry named by the hostile key gets)
KEYED = {
    "inputs": lambda: {"type": "integer", "required": False},
    "derived": lambda: "1",
    "outputs": lambda: "1",
    "tables": _table,
    "trees": _tree,
    "scorecards": _artifact,
    "models": _artifact,
}


@pytest.mark.parametrize("section", KEYED)
@pytest.mark.parametrize("name", BAD_NAMES + NOT_TEXT_KEYS, ids=repr)
def test_a_hostile_name_as_a_key_is_refused_naming_it(canary, section, name):
    data = base()
    data.setdefault(section, {})[name] = KEYED[section]()
    problems = refused(data, canary)
    assert_problem_at(problems, f"{section}.{name}")
    assert any(repr(name) in p.message for p in problems if p.path == f"{section}.{name}")


def _add_table_input(data, name):
    data["tables"]["limit"]["inputs"].append(name)


def _add_table_output(data, name):
    data["tables"]["limit"]["outputs"].append(name)
    for row in data["tables"]["limit"]["rows"]:
        if not isinstance(name, list | dict):
            row["then"][name] = 1


def _add_tree_output(data, name):
    data["trees"]["price"]["outputs"].append(name)
    for leaf in ("then", "else"):
        if not isinstance(name, list | dict):
            data["trees"]["price"]["root"][leaf]["set"][name] = 1


def _set_unit(data, name):
    data["arms"]["unit"] = name


LISTED = {
    "tables.limit.inputs": _add_table_input,
    "tables.limit.outputs": _add_table_output,
    "trees.price.outputs": _add_tree_output,
    "arms.unit": _set_unit,
}


@pytest.mark.parametrize(
    ("where", "name"),
    # a table may read the variables the engine provides (`arm`); it may not define them
    [
        (w, n)
        for w in LISTED
        for n in BAD_NAMES + NOT_TEXT
        if (w, n) != ("tables.limit.inputs", "arm")
    ],
    ids=repr,
)
def test_a_hostile_name_as_a_value_is_refused_naming_its_field(canary, where, name):
    data = base()
    LISTED[where](data, name)
    assert_problem_at(refused(data, canary), where)


def _rule_id(data, label):
    data["rules"][0]["id"] = label
    return "rules.0.id"


def _arm(data, label):
    data["arms"]["shares"] = {label: 90, "challenger": 10}
    return f"arms.shares.{label}"


def _leaf(data, label):
    data["trees"]["price"]["root"]["then"]["leaf"] = label
    return "trees.price.root.then.leaf"


def _name(data, label):
    data["name"] = label
    return "name"


LABELLED = {"rule id": _rule_id, "arm": _arm, "leaf": _leaf, "policy name": _name}


@pytest.mark.parametrize("field", LABELLED)
@pytest.mark.parametrize("label", BAD_LABELS + NOT_TEXT_KEYS, ids=repr)
def test_a_hostile_label_is_refused_naming_its_field(canary, field, label):
    data = base()
    path = LABELLED[field](data, label)
    assert_problem_at(refused(data, canary), path)


@pytest.mark.parametrize("version", (*PAYLOADS, "", "a\nb", "1 ", "v/1"), ids=repr)
def test_a_hostile_version_is_refused(canary, version):
    data = base()
    data["version"] = version
    assert_problem_at(refused(data, canary), "version")


# --- expressions: parsed, never pasted --------------------------------------------------


def _derived(data, text):
    data["derived"]["young"] = text
    return "derived.young"


def _when(data, text):
    data["rules"][0]["when"] = text
    return "rules.0.when"


def _output(data, text):
    data["outputs"]["term"] = text
    return "outputs.term"


def _tree_if(data, text):
    data["trees"]["price"]["root"]["if"] = text
    return "trees.price.root.if", "trees.price"  # unknown variables: named at the tree


def _amount(data, text):
    data["pricing"]["amount_fen"] = text
    return "pricing.amount_fen"


EXPRESSIONS = {
    "derived": _derived,
    "rule": _when,
    "output": _output,
    "tree test": _tree_if,
    "pricing": _amount,
}
HOSTILE_EXPRESSIONS = (
    # (a payload in triple quotes is a text literal: data, see the round-trip test below)
    *(p for p in PAYLOADS if not p.startswith('"""')),
    "age.__class__.__mro__",
    "(lambda: 1)()",
    "[x for x in ()]",
    "__builtins__",
    "age if __import__ else age",
    "f'{age}'",
    "b'x' == b'x'",
    "age < 18; import os",
    "ａｇｅ < 18",
    "",
    ["age < 18"],
    {"age": 18},
    None,
    True,
)


@pytest.mark.parametrize("where", EXPRESSIONS)
@pytest.mark.parametrize("text", HOSTILE_EXPRESSIONS, ids=repr)
def test_a_hostile_expression_is_refused_at_its_path(canary, where, text):
    data = base()
    where = EXPRESSIONS[where](data, text)
    path, node = where if isinstance(where, tuple) else (where, where)
    problems = refused(data, canary)
    if path not in [p.path for p in problems]:
        assert_problem_at(problems, node)


# --- other fields that take text: checked, refused at their path -------------------------


def _pricing_key(data, value):
    data["pricing"][value] = "1"
    return f"pricing.{value}"


def _pricing_field(key):
    def plant(data, value):
        data["pricing"][key] = value
        return f"pricing.{key}"

    return plant


def _category(data, value):
    data["inputs"]["channel"]["categories"] = ["app", "h5", value]
    return "inputs.channel.categories.2"


def _then(data, value):
    data["tables"]["limit"]["rows"][2]["then"]["label"] = value
    return "tables.limit.rows.2.then.label"


def _tree_set(data, value):
    data["trees"]["price"]["root"]["else"]["set"]["band"] = value
    return "trees.price.root.else.set.band"


def _salt(data, value):
    data["arms"]["salt"] = value
    return "arms.salt"


def _input_type(data, value):
    data["inputs"]["age"]["type"] = value
    return "inputs.age.type"


def _action(data, value):
    data["rules"][0]["action"] = value
    return "rules.0.action"


CHECKED = {
    "pricing key": (_pricing_key, (*PAYLOADS, "", "apr", "__class__")),
    "pricing product": (_pricing_field("product"), (*PAYLOADS, "", *NOT_TEXT)),
    "pricing lender": (_pricing_field("lender_type"), (*PAYLOADS, "", ["private"])),
    "pricing date": (_pricing_field("date"), (*PAYLOADS, "age", *NOT_TEXT)),
    "pricing on_breach": (_pricing_field("on_breach"), (*PAYLOADS, "approve", *NOT_TEXT)),
    "input type": (_input_type, (*PAYLOADS, "str", "int", *NOT_TEXT)),
    "rule action": (_action, (*PAYLOADS, "approve", *NOT_TEXT)),
    "category": (_category, (1, 1.5, None, True, ["a"], {"a": 1})),
    "table output value": (_then, (["L20"], {"a": 1}, 2**63, float("nan"), float("inf"))),
    "tree output value": (_tree_set, (["adult"], {"a": 1}, 2**63, float("nan"))),
    "salt": (_salt, ("", "s" * 65, "年" * 22, *NOT_TEXT)),
}


@pytest.mark.parametrize(
    ("field", "value"),
    [(f, v) for f, (_, values) in CHECKED.items() for v in values],
    ids=repr,
)
def test_a_hostile_value_is_refused_at_its_path(canary, field, value):
    data = base()
    path = CHECKED[field][0](data, value)
    assert_problem_at(refused(data, canary), path)


def test_a_hostile_jurisdiction_is_refused_naming_the_rule_set(canary):
    data = base()
    data["pricing"]["jurisdiction"] = PAYLOADS[1]
    problems = refused(data, canary)
    assert any(p.path.startswith("pricing.") and repr(PAYLOADS[1]) in p.message for p in problems)


# --- strings that are data: verbatim through both backends, nothing runs ------------------


def test_the_base_policy_is_valid_and_both_backends_agree(canary):
    d, _ = decide_both(load_policy(base()))
    assert d.decision == "approve"
    assert d.outputs["label"] == "L20"


def _as_category(data, value):
    data["inputs"]["channel"]["categories"].append(value)
    return {"channel": value}, "chan"


def _as_table_output(data, value):
    data["tables"]["limit"]["rows"][2]["then"]["label"] = value
    return {}, "label"


def _as_tree_output(data, value):
    data["trees"]["price"]["root"]["else"]["set"]["band"] = value
    return {}, "band"


def _as_cell(data, value):
    data["inputs"]["channel"]["categories"].append(value)
    data["tables"]["limit"]["rows"][1]["when"]["channel"] = f"== '{value}'"
    data["tables"]["limit"]["rows"][1]["then"]["label"] = value
    return {"channel": value}, "label"


def _as_literal(data, value):
    data["outputs"]["literal"] = repr(value)
    return {}, "literal"


AS_DATA = {
    "text literal in an expression": _as_literal,
    "category": _as_category,
    "table output": _as_table_output,
    "tree output": _as_tree_output,
    # a cell is one line: a text with a line break cannot be written in one
    "table cell": _as_cell,
}


@pytest.mark.parametrize(
    ("field", "text"),
    [
        (f, t)
        for f in AS_DATA
        for t in TEXTS
        if not (f == "table cell" and ("\n" in t or "\r" in t))
    ],
    ids=repr,
)
def test_a_text_that_is_data_round_trips_exactly_through_both_backends(canary, field, text):
    data = base()
    changes, output = AS_DATA[field](data, text)
    policy = load_policy(data)
    d, row = decide_both(policy, APP | changes)
    assert d.outputs[output] == text
    assert row[output] == text
    assert d.decision == "approve"
    assert_source_is_inert(policy)
    assert not canary.exists()


@pytest.mark.parametrize(
    "salt", [t for t in TEXTS if t and len(t.encode()) <= 64] + ["年" * 21], ids=repr
)
def test_a_hostile_salt_is_only_a_key(canary, salt):
    data = base()
    data["arms"]["salt"] = salt
    policy = load_policy(data)
    ids = [f"A{k}" for k in range(50)]
    apps = [APP | {"application_id": i} for i in ids]
    frame = policy.decide_frame(pl.DataFrame(apps, schema=SCHEMA))
    assert frame["arm"].to_list() == [policy.decide(a).arm for a in apps]
    assert_source_is_inert(policy)
    assert not canary.exists()


@pytest.mark.parametrize("text", PAYLOADS, ids=repr)
def test_descriptions_are_inert(canary, text):
    data = base()
    data["description"] = text
    data["inputs"]["age"]["description"] = text
    policy = load_policy(data)
    decide_both(policy)
    assert CANARY not in policy.source()
    assert not canary.exists()


@pytest.mark.parametrize("field", LABELLED)
@pytest.mark.parametrize("label", GOOD_LABELS)
def test_a_label_that_is_a_keyword_or_engine_word_is_just_a_label(canary, field, label):
    data = base()
    LABELLED[field](data, label)
    data["rules"][0]["when"] = "age >= 18"  # the rule hits: its id is the reason
    data["trees"]["price"]["root"]["if"] = "not young"  # the `then` leaf is taken
    data["arms"]["shares"] = {label: 100} if field == "arm" else data["arms"]["shares"]
    policy = load_policy(data)
    d, _ = decide_both(policy)
    assert d.decision == "decline"
    expected = {
        "rule id": d.reasons == (label if field == "rule id" else "R01",),
        "arm": field != "arm" or d.arm == label,
        "leaf": d.outputs["leaf"] == (label if field == "leaf" else "A"),
        "policy name": d.policy == (label if field == "policy name" else "hostile"),
    }
    assert all(expected.values()), expected
    assert_source_is_inert(policy)


# --- the generated source ---------------------------------------------------------------

DANGEROUS = {
    "__import__",
    "__builtins__",
    "eval",
    "exec",
    "compile",
    "open",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "breakpoint",
    "input",
    "os",
    "sys",
}


def assert_source_is_inert(policy, file_names: frozenset = frozenset()) -> None:
    """The row backend's source compiles; it reads and writes only internal ids, engine
    locals and harmless builtins; hostile text sits only inside string literals."""
    source = policy.source()
    tree = ast.parse(source)
    compile(source, "<policy>", "exec")
    identifiers = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    identifiers |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not (identifiers | attributes) & DANGEROUS
    assert not (identifiers | attributes) & file_names
    assert all(a == "__class__" or not a.startswith("__") for a in attributes), attributes
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.STRING:
            assert "__import__" not in token.string and CANARY not in token.string


def test_names_from_the_file_never_become_identifiers(canary):
    data = {
        "schema_version": 1,
        "inputs": {
            "zz_unit": {"type": "text"},
            "zz_age": {"type": "integer"},
            "zz_chan": {"type": "text", "categories": ["app", "h5"]},
        },
        "arms": {"unit": "zz_unit", "salt": "s", "shares": {"champion": 50, "challenger": 50}},
        "derived": {"zz_young": "zz_age < 25"},
        "tables": {
            "zz_tab": {
                "inputs": ["zz_age", "zz_chan"],
                "outputs": ["zz_out"],
                "rows": [
                    {"when": {"zz_chan": "== h5"}, "then": {"zz_out": "H"}},
                    {"when": {}, "then": {"zz_out": "O"}},
                ],
            }
        },
        "trees": {
            "zz_tree": {
                "outputs": ["zz_rate"],
                "root": {
                    "if": "zz_young",
                    "then": {"leaf": "Y", "set": {"zz_rate": 0.1}},
                    "else": {"leaf": "N", "set": {"zz_rate": 0.2}},
                },
            }
        },
        "rules": [{"id": "R", "when": "zz_tab_zz_out == 'H' and zz_young", "action": "refer"}],
        "outputs": {"zz_result": "zz_tab_zz_out + ':' + zz_tree_leaf"},
    }
    policy = load_policy(data)
    names = frozenset(
        [s.name for s in policy.inputs]
        + [v for n in policy.nodes for v in n.provides]
        + [n for n, _ in policy.outputs]
    )
    assert names >= {"zz_age", "zz_young", "zz_tab_zz_out", "zz_tree_zz_rate", "zz_result"}
    assert_source_is_inert(policy, names)
    tree = ast.parse(policy.source())
    identifiers = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert {f"v{k}" for k in range(len(names))} <= identifiers  # one internal id per name
    app_ = {"zz_unit": "u1", "zz_age": 20, "zz_chan": "h5"}
    schema = {"zz_unit": pl.String, "zz_age": pl.Int64, "zz_chan": pl.String}
    d, _ = decide_both(policy, app_, schema)
    assert (d.decision, d.reasons, d.outputs) == ("refer", ("R",), {"zz_result": "H:Y"})


# names the generated code or the batch frame uses for itself are fine names for a policy:
# they are data, mapped to internal ids, so they never shadow the engine's own
ENGINE_LOOKALIKES = (
    "app",
    "dq",
    "hits",
    "rec",
    "c",
    "v0",
    "v1",
    "_c",
    "_t1",
    "_ns",
    "_k1",
    "_date",
    "_price",
    "_arm_of",
    "_slow_integer",
    "_dec",
    "_ref",
    "_cap",
    "_b0",
    "_p0",
    "_r",
    "str",
    "int",
    "print",
    "exec",
    "eval",
    "os",
    "self",
    "v",
)


def test_inputs_named_like_engine_internals_are_just_inputs(canary):
    names = ENGINE_LOOKALIKES
    data = {
        "schema_version": 1,
        "inputs": {n: {"type": "integer"} for n in names},
        "derived": {"pair": "v1 * 100 + v0"},
        "rules": [{"id": "R", "when": "v0 > v1 and app == 1 and _c == 8", "action": "refer"}],
        "outputs": {f"{n}_out": n for n in names} | {"pair_out": "pair"},
    }
    policy = load_policy(data)
    app_ = {n: k + 1 for k, n in enumerate(names)} | {"v0": 7, "v1": 3}
    d, _ = decide_both(policy, app_, dict.fromkeys(names, pl.Int64))
    assert d.outputs == {f"{n}_out": app_[n] for n in names} | {"pair_out": 307}
    assert d.reasons == ("R",)
    assert not canary.exists()


@pytest.mark.parametrize(
    "where",
    ["input", "derived", "table output"],
)
def test_a_variable_named_like_a_rules_batch_column_is_refused_or_kept_apart(canary, where):
    """``rule_<id>`` is the batch column of a rule: a variable of that name must either be
    refused (as an output of that name is) or keep its own value in both backends."""
    data = {
        "schema_version": 1,
        "inputs": {"n": {"type": "integer"}},
        "rules": [{"id": "x", "when": "n > 5", "action": "refer"}],
        "outputs": {"o": "rule_x"},
    }
    if where == "input":
        data["inputs"]["rule_x"] = {"type": "integer"}
        path = "inputs.rule_x"
    elif where == "derived":
        data["derived"] = {"rule_x": "n * 10"}
        path = "derived.rule_x"
    else:
        data["tables"] = {
            "rule": {"inputs": ["n"], "outputs": ["x"], "rows": [_table("x")["rows"][0]]}
        }
        data["tables"]["rule"]["rows"][0]["then"]["x"] = 42
        path = "tables.rule"
    try:
        policy = load_policy(data)
    except ConfigError as err:
        assert any(p.path.startswith(path) for p in err.problems), err.problems
        return
    app_ = {"n": 7, "rule_x": 70}
    d, row = decide_both(policy, app_, {"n": pl.Int64, "rule_x": pl.Int64})
    assert d.outputs["o"] == row["o"] == {"input": 70, "derived": 70, "table output": 42}[where]


# --- collection strategies --------------------------------------------------------------


def strategy_data() -> dict:
    text = resources.files("fengkong.collections").joinpath("data/strategy_default.yaml")
    return yaml.safe_load(text.read_text("utf-8"))


def _plan_cell(data, value):
    data["tables"]["actions"]["rows"][0]["then"]["plan"] = value
    return "tables.actions.rows.0.then.plan"


def _plan_output(data, value):
    data["outputs"]["plan"] = repr(value)  # a text constant as the whole plan
    return "outputs.plan"


def _strategy_output_name(data, value):
    data["outputs"][value] = "actions_plan"
    return f"outputs.{value}"


STRATEGY = {
    "plan in a table": (_plan_cell, (*PAYLOADS, "sms:reminder," + RUN, "sms:" + RUN)),
    "plan output": (_plan_output, (*PAYLOADS, "call:call_script, " + RUN)),
    "output name": (_strategy_output_name, BAD_NAMES),
}


@pytest.mark.parametrize(
    ("where", "value"),
    [(w, v) for w, (_, values) in STRATEGY.items() for v in values],
    ids=repr,
)
def test_a_hostile_strategy_is_refused_at_its_path(canary, where, value):
    data = strategy_data()
    path = STRATEGY[where][0](data, value)
    with pytest.raises(ConfigError) as err:
        load_strategy(data)
    assert not canary.exists()
    assert_problem_at(list(err.value.problems), path)


@pytest.mark.parametrize("salt", [t for t in PAYLOADS if len(t.encode()) <= 64], ids=repr)
def test_a_strategy_with_a_hostile_salt_plans_as_usual(canary, salt):
    data = strategy_data()
    data["arms"]["salt"] = salt
    strategy = load_strategy(data)
    cases = pl.DataFrame(
        {
            "case_id": [f"c{k}" for k in range(40)],
            "stage": ["early", "middle", "late", "recovery"] * 10,
            "p_pay": [0.5] * 40,
            "overdue_fen": [10_000] * 40,
            "balance_fen": [600_000] * 40,
            "max_dpd": [30] * 40,
        }
    )
    plan = strategy.plan(cases)
    assert set(plan["action"]) <= {"sms", "call", "robocall", "field_visit", "agency"}
    arms = dict(zip(plan["case_id"], plan["arm"], strict=False))
    for case, arm in arms.items():
        row = cases.filter(pl.col("case_id") == case).row(0, named=True)
        assert strategy.policy.decide(row).arm == arm
    assert_source_is_inert(strategy.policy)
    assert not canary.exists()


# --- the CLI ----------------------------------------------------------------------------


def _cli_derived_name(data):
    data["derived"][PAYLOADS[1]] = "1"
    return f"derived.{PAYLOADS[1]}"


def _cli_rule(data):
    data["rules"][0]["when"] = PAYLOADS[0]
    return "rules.0.when"


def _cli_input_name(data):
    data["inputs"][PAYLOADS[5]] = {"type": "integer"}
    return f"inputs.{PAYLOADS[5]}"


def _cli_table_output(data):
    data["tables"]["limit"]["rows"][2]["then"]["label"] = [RUN]
    return "tables.limit.rows.2.then.label"


def _cli_salt(data):
    data["arms"]["salt"] = {RUN: RUN}
    return "arms.salt"


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


@pytest.mark.parametrize(
    "plant", [_cli_derived_name, _cli_rule, _cli_input_name, _cli_table_output, _cli_salt]
)
def test_policy_check_reports_hostile_files_and_runs_nothing(canary, tmp_path, plant):
    data = base()
    path = plant(data)
    file = tmp_path / "hostile.yaml"
    file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(app, ["policy", "check", str(file)], env={"COLUMNS": "200"})
    assert res.exit_code == 1, res.output
    assert f"{_one_line(path)}: " in res.stdout
    assert "hostile.yaml:" in res.stdout
    assert not canary.exists()
