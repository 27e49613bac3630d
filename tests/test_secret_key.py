"""The secret key: one per installation (no key in the source), the key file beside a SQLite database,
required with PostgreSQL; a key that cannot read the database refuses to start, naming the fix; and
``secret-key rotate`` re-encrypts everything, with the old key still read meanwhile (MultiFernet)."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import sessionmaker

from assessment_hub.app import create_app
from assessment_hub.config import Settings
from assessment_hub.db.engine import build_engine
from assessment_hub.db.migrate import upgrade
from assessment_hub.db.session import unit_of_work
from assessment_hub.integrations.models import IntegrationRow
from assessment_hub.kit.crypto import Cipher, generate_key
from assessment_hub.kit.links import attachment_link, check_attachment_link
from assessment_hub.kit.secret_keys import SecretKeyError, key_file_path
from assessment_hub.webhooks.models import WebhookEndpointRow
from tests.support import ADMIN_KEY, running_hub
from tests.test_errors import check

pytestmark = [pytest.mark.live, pytest.mark.subprocess]

CLI = [sys.executable, "-m", "assessment_hub.cli"]
SHA = "a" * 64


def cli(args: list[str], db: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.endswith("SECRET_KEY") and "SECRET_KEYS" not in k}
    environment |= {
        "ASSESSMENT_HUB_DATABASE_URL": f"sqlite:///{db}",
        "ASSESSMENT_HUB_ATTACHMENTS_DIR": str(db.parent / "att"),
    }
    return subprocess.run(
        CLI + args, env={**environment, **env}, cwd=db.parent, capture_output=True, text=True, timeout=120
    )


def create_integration(db: Path, **env: str) -> str:
    result = cli(
        ["integrations", "create", "--tool", "ashby", "--organization", "Acme", "--setting", "api_key=s3cret"],
        db,
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def stored(db: Path) -> list[str]:
    engine = build_engine(Settings(database_url=f"sqlite:///{db}", secret_key=generate_key()))
    try:
        with unit_of_work(sessionmaker(engine)) as session:
            rows = (
                session.query(IntegrationRow.settings_encrypted).all()
                + session.query(WebhookEndpointRow.secret_encrypted).all()
            )
            return [value for (value,) in rows if value]
    finally:
        engine.dispose()


def test_each_installation_generates_its_own_owner_only_key_beside_the_database(tmp_path: Path) -> None:
    one, two = tmp_path / "one" / "hub.db", tmp_path / "two" / "hub.db"
    for db in (one, two):
        db.parent.mkdir()
        create_integration(db)
    key_one, key_two = (Path(f"{db}-secret.key") for db in (one, two))
    for key_file in (key_one, key_two):
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_one.read_text() != key_two.read_text()
    settings_one = Settings(database_url=f"sqlite:///{one}")
    settings_two = Settings(database_url=f"sqlite:///{two}")
    assert key_file_path(settings_one) == key_one
    link = attachment_link(settings_one, "https://hub.example", SHA, "cv.pdf")
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
    assert check_attachment_link(settings_one, SHA, "cv.pdf", int(query["expires"]), query["signature"])
    # a link signed by another installation (or with any key printed anywhere) is no link here
    assert not check_attachment_link(settings_two, SHA, "cv.pdf", int(query["expires"]), query["signature"])
    assert [settings_one.cipher.decrypt_json(value) for value in stored(one)][0]["api_key"] == "s3cret"


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    create_integration(db)
    Path(f"{db}-secret.key").chmod(0o644)
    result = cli(["serve", "--port", "1"], db)
    assert result.returncode == 2 and "chmod 600" in result.stderr and "Traceback" not in result.stderr


def test_postgresql_needs_the_key_set() -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(SecretKeyError, match="ASSESSMENT_HUB_SECRET_KEY is required with PostgreSQL"):
        assert settings.cipher is None


def test_a_new_key_on_an_existing_database_refuses_to_start_naming_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    create_integration(db)
    new = generate_key()
    for args in (
        ["serve", "--port", "1"],
        ["worker"],
        ["integrations", "create", "--tool", "sandbox", "--organization", "B"],
    ):
        result = cli(args, db, ASSESSMENT_HUB_SECRET_KEY=new)
        assert result.returncode == 2, (args, result.stderr)
        assert "ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS" in result.stderr and "secret-key rotate" in result.stderr
        assert "Traceback" not in result.stderr
    app = create_app(Settings(database_url=f"sqlite:///{db}", secret_key=new, attachments_dir=tmp_path / "att"))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(SecretKeyError, match="secret-key rotate"):  # the app itself (serve --workers N) refuses too
        asyncio.run(start())


def test_rotate_with_the_key_set_moves_everything_to_the_new_key(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    old = generate_key()
    integration = create_integration(db, ASSESSMENT_HUB_SECRET_KEY=old)
    secret = cli(["webhooks", "create", "--url", "https://vendor.example/hook"], db, ASSESSMENT_HUB_SECRET_KEY=old)
    assert secret.returncode == 0, secret.stderr
    new = generate_key()
    refused = cli(["secret-key", "rotate"], db, ASSESSMENT_HUB_SECRET_KEY=new)
    assert refused.returncode == 2 and "Nothing was changed" in refused.stderr
    assert all(Cipher(old).readable(value) for value in stored(db))
    rotated = cli(["secret-key", "rotate"], db, ASSESSMENT_HUB_SECRET_KEY=new, ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS=old)
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 2 stored value(s)" in rotated.stdout
    values = stored(db)
    assert len(values) == 2 and all(Cipher(new).readable(v) and not Cipher(old).readable(v) for v in values)
    with (
        running_hub(f"sqlite:///{db}", tmp_path, secret_key=new) as hub,  # starts with the new key alone
        httpx.Client(base_url=hub.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client,
    ):
        listed = client.get("/admin/integrations").json()["data"]["integrations"]
    assert [i["setting_keys"] for i in listed if i["id"] == integration] == [
        ["api_base_url", "api_key", "inbound_api_key"]
    ]


def test_rotate_with_the_key_file_keeps_a_running_hub_reading(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    url = f"sqlite:///{db}"
    engine = build_engine(Settings(database_url=url))
    upgrade(engine)
    engine.dispose()
    with running_hub(url, tmp_path) as hub:
        key_file = Path(f"{db}-secret.key")
        before = key_file.read_text().split()
        link = attachment_link(hub.settings, hub.base_url, SHA, "cv.pdf")
        with httpx.Client(base_url=hub.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
            created = admin.post(
                "/admin/integrations", json={"tool": "ashby", "organization_name": "A", "settings": {"api_key": "k"}}
            )
            assert created.status_code == 200, created.text
            rotated = cli(["secret-key", "rotate"], db)
            assert rotated.returncode == 0, rotated.stderr
            after = key_file.read_text().split()
            assert len(after) == 2 and after[1] == before[0] and after[0] != before[0]
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
            assert all(Cipher(after[0]).readable(v) and not Cipher(before[0]).readable(v) for v in stored(db))
            # the running hub reads the rotated values (it reads the key file again) ...
            listed = admin.get("/admin/integrations")
            assert listed.status_code == 200, listed.text
            # ... and a link it handed out before still verifies (the previous key is kept)
            query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
            assert check_attachment_link(
                Settings(database_url=url), SHA, "cv.pdf", int(query["expires"]), query["signature"]
            )


def test_a_value_under_an_unknown_key_is_a_clear_503_not_a_500(tmp_path: Path) -> None:
    """A value written by a process with another key after this one started: the request says what to do."""
    db = tmp_path / "hub.db"
    url = f"sqlite:///{db}"
    engine = build_engine(Settings(database_url=url))
    upgrade(engine)
    engine.dispose()
    with running_hub(url, tmp_path) as hub:
        from assessment_hub.connecting import create_integration as create

        with unit_of_work(hub.sessions) as session:
            create(session, "ashby", "Other key", settings={"api_key": "k"}, cipher=Cipher(generate_key()))
        with httpx.Client(base_url=hub.base_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
            check(admin.get("/admin/integrations"), 503, "PLATFORM.UNKNOWN_ERROR", mentions="secret-key rotate")
