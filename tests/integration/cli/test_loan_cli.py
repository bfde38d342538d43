"""fengkong loan quote / statement through Typer's runner."""

from typer.testing import CliRunner

from fengkong.cli.app import app

runner = CliRunner()


def test_quote_prints_schedule_true_apr_and_breaches():
    args = [
        "loan",
        "quote",
        "--principal",
        "10000",
        "--rate",
        "0.12",
        "--term",
        "12",
        "--upfront-fee",
        "1000",
    ]
    result = runner.invoke(
        app,
        [*args, "--jurisdiction", "cn", "--lender-type", "private", "--disbursed-on", "2026-01-01"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "888.49" in result.output and "9,000.00" in result.output
    assert "true APR: 32.50 %" in result.output
    assert "cn-no-upfront-deduction" in result.output and "cn2020-4x-lpr" in result.output


def test_quote_of_a_clean_loan_has_no_breach():
    result = runner.invoke(
        app,
        [
            "loan",
            "quote",
            "--principal",
            "5000",
            "--rate",
            "0.10",
            "--term",
            "6",
            "--product",
            "flat_fee_instalment",
            "--disbursed-on",
            "2026-01-01",
            "--lender-type",
            "licensed",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "No breach" in result.output


def test_statement_answers_the_borrower():
    result = runner.invoke(
        app,
        [
            "loan",
            "statement",
            "--principal",
            "40000",
            "--rate",
            "0.36",
            "--term",
            "12",
            "--upfront-fee",
            "4000",
            "--disbursed-on",
            "2019-06-01",
            "--as-of",
            "2019-11-15",
            "--paid",
            "2019-07-01=4017.85",
            "--paid",
            "2019-08-01=4017.85",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "36,000.00" in result.output and "24.00 %" in result.output and "砍头息" in result.output


def test_bad_input_is_one_clear_error():
    cases = [
        (
            ["--principal", "0", "--rate", "0.1", "--term", "12"],
            "principal: expected a positive amount",
        ),
        (
            ["--principal", "100", "--rate", "12", "--term", "12"],
            "annual_rate: expected a rate from 0 to 10",
        ),
        (["--principal", "100", "--rate", "0.1", "--term", "0"], "term: expected an integer"),
        (
            ["--principal", "100", "--rate", "0.1", "--term", "3", "--method", "balloon"],
            "--method: expected one of",
        ),
        (
            ["--principal", "100", "--rate", "0.1", "--term", "3", "--product", "mortgage"],
            "product: expected one of",
        ),
        (
            ["--principal", "100", "--rate", "0.1", "--term", "3", "--disbursed-on", "01/02/2026"],
            "--disbursed-on: expected a date",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["loan", "quote", *args], env={"COLUMNS": "200"})
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
