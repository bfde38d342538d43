import pytest

from fengkong.errors import (
    ConfigError,
    FengkongError,
    InvalidArgumentError,
    NotFittedError,
    NotFoundError,
    OutputError,
    Problem,
)


@pytest.mark.parametrize(
    ("error", "builtins"),
    [
        (InvalidArgumentError("x", expected="y", got=1), (ValueError,)),
        (ConfigError([Problem("f.yaml", "a.b", "bad")]), (ValueError,)),
        (OutputError("/x", "denied"), (OSError,)),
        (NotFoundError("loan", 7), (LookupError,)),
        (NotFittedError("not fitted"), (ValueError, AttributeError)),
    ],
)
def test_every_leaf_is_a_fengkong_error_and_the_builtin_callers_expect(error, builtins):
    assert isinstance(error, FengkongError)
    for builtin in builtins:
        assert isinstance(error, builtin)


def test_invalid_argument_names_field_expected_and_got():
    exc = InvalidArgumentError("term", expected="a positive integer", got=0)
    assert (exc.field, exc.expected, exc.got) == ("term", "a positive integer", 0)
    assert str(exc) == "term: expected a positive integer, got 0"


def test_config_error_lists_every_problem():
    problems = [Problem("p.yaml", "a", "unknown key"), Problem("p.yaml", "b.c", "too big")]
    exc = ConfigError(problems)
    assert exc.problems == tuple(problems)
    assert str(exc).splitlines() == [
        "2 problems:",
        "  - p.yaml: a: unknown key",
        "  - p.yaml: b.c: too big",
    ]


def test_config_error_needs_a_problem():
    with pytest.raises(ValueError, match="at least one problem"):
        ConfigError([])
