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


def banner(credentials: DevCredentials, base_url: str, *, cli: str, python: str, kombo_installed: bool) -> str:
    """What ``make run`` prints on a first start: the key, the integration and a pasteable SDK snippet.

    ``cli`` and ``python`` are the commands as the operator can type them here (``.venv/bin/assessment-hub``
    when the venv is not on PATH); ``kombo_installed`` says whether ``python`` already has the SDK."""
    sdk = f"{python} has it installed" if kombo_installed else f"{python} -m pip install kombo"
    return f"""
  assessment-hub: first start, created development credentials (shown once; the key is stored hashed)

    API key:         {credentials.api_key}
    Integration id:  {credentials.integration_id}

  Try it with the official Kombo SDK ({sdk}), in `{python}`:

from kombo import Kombo
kombo = Kombo(api_key="{credentials.api_key}",
              integration_id="{credentials.integration_id}",
              server_url="{base_url}/v1")
kombo.assessment.set_packages(packages=[{{"id": "1001", "type": "SKILLS_TEST",
    "name": "Python coding test", "description": "60 minutes, 3 tasks"}}])
print(kombo.assessment.get_packages().data.packages)

  Then place an order in the sandbox ATS, in another shell in this directory:
    {cli} sandbox create-order --integration {credentials.integration_id} --package 1001
"""


def how_to_run() -> tuple[str, str]:
    """``(cli, python)``: how to type the ``assessment-hub`` command and this Python here: the bare name
    when PATH finds the same program, else its path (relative to the working directory when inside it)."""
    import os
    import shutil
    import sys
    from pathlib import Path

    def typed(name: str, program: Path) -> str:
        found = shutil.which(name)
        # compared unresolved: a venv's python is a symlink to the system one, which lacks the venv's packages
        if found and Path(found).absolute() == program.absolute():
            return name
        try:
            relative = os.path.relpath(program, Path.cwd())
        except ValueError:  # another drive (Windows)
            return str(program)
        return relative if not relative.startswith("..") else str(program)

    bin_dir = Path(sys.executable).parent
    script = bin_dir / "assessment-hub"
    python = typed("python", Path(sys.executable))
    cli = typed("assessment-hub", script) if script.exists() else f"{python} -m assessment_hub"
    return cli, python
