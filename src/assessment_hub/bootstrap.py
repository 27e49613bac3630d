"""First start in development: a development API key and sandbox integration (empty database), and
an admin key for the console and the admin API (none configured), printed once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from assessment_hub.admin.keys import create_development_admin_key, stored_admin_key_hash
from assessment_hub.integrations.service import count_api_keys, create_api_key, create_integration


@dataclass(frozen=True)
class DevCredentials:
    api_key: str | None
    integration_id: str | None
    admin_key: str | None = None
    """Created when no ``ASSESSMENT_HUB_ADMIN_API_KEY`` is set and none was created before."""


def bootstrap_if_empty(session: Session, *, admin_key_configured: bool = True) -> DevCredentials | None:
    """Create the development key and sandbox integration when the hub has no API key yet, and the
    development admin key when none is configured nor stored (``admin.keys``). None: nothing created."""
    api_key = integration_id = admin_key = None
    if not count_api_keys(session):
        api_key = create_api_key(session, "development")
        integration_id = create_integration(session, "sandbox", "Sandbox Org").id
    if not admin_key_configured and stored_admin_key_hash(session) is None:
        admin_key = create_development_admin_key(session)
    if api_key is None and admin_key is None:
        return None
    return DevCredentials(api_key=api_key, integration_id=integration_id, admin_key=admin_key)


def console_line(base_url: str) -> str:
    return f"assessment-hub console {base_url}/console"


def banner(credentials: DevCredentials, base_url: str) -> str:
    """What ``make run`` prints on a first start: the keys, the integration, the console and a pasteable
    SDK snippet."""
    lines = [
        "",
        "  assessment-hub: first start, created development credentials (shown once; keys are stored hashed)",
        "",
    ]
    if credentials.api_key:
        lines += [f"    API key:         {credentials.api_key}", f"    Integration id:  {credentials.integration_id}"]
    if credentials.admin_key:
        lines += [
            f"    Admin key:       {credentials.admin_key}",
            f"    Console:         {base_url}/console  (sign in with the admin key)",
        ]
    text = "\n".join(lines) + "\n"
    if credentials.api_key:
        text += f"""
  Try it with the official Kombo SDK (pip install kombo):

from kombo import Kombo
kombo = Kombo(api_key="{credentials.api_key}",
              integration_id="{credentials.integration_id}",
              server_url="{base_url}/v1")
kombo.assessment.set_packages(packages=[{{"id": "1001", "type": "SKILLS_TEST",
    "name": "Python coding test", "description": "60 minutes, 3 tasks"}}])
print(kombo.assessment.get_packages().data.packages)

  Then place an order in the sandbox ATS:
    assessment-hub sandbox create-order --integration {credentials.integration_id} --package 1001
"""
    return text
