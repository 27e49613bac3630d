"""Fixes found by profiling the benchmark (bench/RESULTS.md): a client that hangs up mid-body is not
an unexpected error, and logged errors render cheaply."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from starlette.requests import ClientDisconnect

from assessment_hub.app import create_app
from assessment_hub.config import Settings


def test_client_disconnect_is_not_logged_as_an_unexpected_error(tmp_path: Path, capsys, caplog) -> None:
    from assessment_hub.db.engine import build_engine
    from assessment_hub.db.migrate import upgrade

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'hub.db'}", attachments_dir=tmp_path / "att")
    engine = build_engine(settings)
    upgrade(engine)  # the lifespan reads the admin key's hash from hub_meta
    engine.dispose()
    app = create_app(settings)

    @app.get("/__test/disconnect")
    def hang_up() -> None:
        raise ClientDisconnect()

    with TestClient(app) as client:
        response = client.get("/__test/disconnect")
    assert response.status_code == 400
    out = capsys.readouterr()
    assert "unhandled_error" not in out.out + out.err + caplog.text


def test_logged_exceptions_render_as_plain_text(capsys) -> None:
    # Rich tracebacks took about a second each on the event loop and stalled the server under load.
    import structlog

    from assessment_hub.kit.logging import configure_logging

    configure_logging()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger("t").exception("failed")
    out = capsys.readouterr().err  # log lines go to stderr (stdout is the CLI's output)
    assert "Traceback (most recent call last)" in out and "RuntimeError: boom" in out
    assert "╭" not in out and "│" not in out
