"""First start with an empty database: a development API key and a sandbox integration, printed once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from assessment_hub.connecting import create_integration
from assessment_hub.integrations.service import count_api_keys, create_api_key


@dataclass(frozen=True)
class DevCredentials:
    api_key: str
    integration_id: str


def bootstrap_if_empty(session: Session) -> DevCredentials | None:
    """Create the development key and sandbox integration when the hub has no API key yet."""
    if count_api_keys(session):
        return None
    key = create_api_key(session, "development")
    integration = create_integration(session, "sandbox", "Sandbox Org")
    return DevCredentials(api_key=key, integration_id=integration.id)


def banner(credentials: DevCredentials, base_url: str) -> str:
    """What ``make run`` prints on a first start: the key, the integration and a pasteable SDK snippet."""
    return f"""
  assessment-hub: first start, created development credentials (shown once; the key is stored hashed)

    API key:         {credentials.api_key}
    Integration id:  {credentials.integration_id}

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
