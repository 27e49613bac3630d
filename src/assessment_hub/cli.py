"""The ``assessment-hub`` command line. Command and option names are a contract other tooling relies on.

Commands that create something print the new value alone on the last line of stdout.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.orm import sessionmaker

from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.errors import HubError

app = typer.Typer(help="assessment-hub: connect assessment vendors to applicant tracking systems.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
api_keys = typer.Typer(help="Vendor API keys.", no_args_is_help=True)
integrations = typer.Typer(help="Integrations (one customer's ATS each).", no_args_is_help=True)
sandbox = typer.Typer(help="The sandbox ATS.", no_args_is_help=True)
app.add_typer(api_keys, name="api-keys")
app.add_typer(integrations, name="integrations")
app.add_typer(sandbox, name="sandbox")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            typer.echo(f"error: ASSESSMENT_HUB_{field.upper()}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def _session_factory(settings: Settings, *, migrate: bool = True) -> sessionmaker:
    engine = build_engine(settings)
    if migrate:
        upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Apply database migrations (also done by ``serve`` on start)."""
    settings = _settings()
    _session_factory(settings)
    typer.echo(f"database at {settings.database_url} is up to date")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Migrate, then serve the API (http://HOST:PORT/v1)."""
    import uvicorn

    from assessment_hub.app import create_app
    from assessment_hub.bootstrap import banner, bootstrap_if_empty

    settings = _settings()
    sessions = _session_factory(settings)
    with unit_of_work(sessions) as session:
        created = bootstrap_if_empty(session) if settings.environment == "development" else None
    sessions.kw["bind"].dispose()
    if created:
        typer.echo(banner(created, f"http://{host}:{port}"))
    typer.echo(f"assessment-hub serving http://{host}:{port}/v1 (database: {settings.database_url})")
    sys.stdout.flush()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@api_keys.command("create")
def api_keys_create(name: Annotated[str, typer.Option(help="A label for the key.")]) -> None:
    """Create a vendor API key; the key is printed once, alone on the last line."""
    from assessment_hub.integrations.service import create_api_key

    with unit_of_work(_session_factory(_settings())) as session:
        key = create_api_key(session, name)
    typer.echo(f"created API key {name!r} (shown once; stored only as a hash)")
    typer.echo(key)


@integrations.command("create")
def integrations_create(
    tool: Annotated[str, typer.Option(help="The ATS, e.g. sandbox.")],
    organization: Annotated[str, typer.Option(help="The customer's organization name.")],
) -> None:
    """Create an integration; its id is printed alone on the last line."""
    from assessment_hub.integrations.service import create_integration

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            row = create_integration(session, tool, organization)
    except KeyError as exc:
        _fail(str(exc.args[0]))
    typer.echo(f"created {tool} integration for {organization!r}")
    typer.echo(row.id)


@sandbox.command("create-order")
def sandbox_create_order(
    integration: Annotated[str, typer.Option(help="A sandbox integration id.")],
    package: Annotated[str, typer.Option(help="A published package id.")],
    email: Annotated[str | None, typer.Option(help="The candidate's email (generated if left out).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the generated candidate and job.")] = None,
) -> None:
    """Place an OPEN order in the sandbox ATS; the order id is printed alone on the last line."""
    from assessment_hub.sandbox.orders import create_sandbox_order

    try:
        with unit_of_work(_session_factory(_settings())) as session:
            order = create_sandbox_order(session, integration, package, email=email, seed=seed)
            candidate = order.candidate
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"created order for {candidate['first_name']} {candidate['last_name']} <{candidate['email']}>")
    typer.echo(order.id)


if __name__ == "__main__":
    app()
