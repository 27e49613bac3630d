"""First start in development: a development API key and sandbox integration (empty database), and
an admin key for the console and the admin API (none configured), printed once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from assessment_hub.admin.keys import create_development_admin_key, stored_admin_key_hash
from assessment_hub.connecting import create_integration
from assessment_hub.integrations.service import count_api_keys, create_api_key


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
    """Printed by every ``serve``, after the line saying where the API is served."""
    return f"assessment-hub console {base_url}/console"


def banner(credentials: DevCredentials, base_url: str, *, cli: str, python: str, kombo_installed: bool) -> str:
    """What ``make run`` prints on a first start: the keys, the integration, the console and a pasteable
    SDK snippet.

    ``cli`` and ``python`` are the commands as the operator can type them here (``.venv/bin/assessment-hub``
    when the venv is not on PATH); ``kombo_installed`` says whether ``python`` already has the SDK."""
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
        sdk = f"{python} has it installed" if kombo_installed else f"{python} -m pip install kombo"
        text += f"""
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
    return text


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
