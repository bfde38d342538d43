"""The ``fengkong`` Typer application: the root callback and the command registry."""

from __future__ import annotations

from typing import Annotated

import typer

from fengkong import __version__
from fengkong.cli._console import configure_logging, console
from fengkong.cli.collections import app as collections_app
from fengkong.cli.demo import demo
from fengkong.cli.features import app as features_app
from fengkong.cli.graph import app as graph_app
from fengkong.cli.loan import app as loan_app
from fengkong.cli.model import app as model_app
from fengkong.cli.policy import app as policy_app
from fengkong.cli.portfolio import app as portfolio_app
from fengkong.cli.serve import apikey_app, serve
from fengkong.cli.servicing import app as servicing_app
from fengkong.cli.synth import synth

app = typer.Typer(
    name="fengkong",
    help="fengkong (风控): credit risk control for consumer lenders.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(synth)
app.command()(demo)
app.add_typer(features_app, name="features")
app.add_typer(loan_app, name="loan")
app.add_typer(model_app, name="model")
app.add_typer(policy_app, name="policy")
app.add_typer(collections_app, name="collections")
app.add_typer(apikey_app, name="apikey")
app.command("serve")(serve)
app.add_typer(portfolio_app, name="portfolio")
app.add_typer(graph_app, name="graph")
app.add_typer(servicing_app, name="servicing")


def _version(value: bool) -> None:
    if value:
        console.print(f"fengkong {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option("--verbose", "-v", count=True, help="More log output (-v info, -vv debug)."),
    ] = 0,
) -> None:
    """fengkong: variables, models, policies, servicing, collections and portfolio analytics."""
    configure_logging(["WARNING", "INFO", "DEBUG"][min(verbose, 2)])


def main() -> None:
    """Console-script entry point."""
    app()
