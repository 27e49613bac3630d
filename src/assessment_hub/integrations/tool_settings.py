"""The connector settings each tool takes, for help texts (no imports: the CLI reads it at start-up)."""

from __future__ import annotations

TOOL_SETTINGS: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "sandbox": (
        ("writeback_url", False, "an http(s) URL the sandbox ATS also POSTs every write-back to"),
        ("allowed_callback_hosts", False, "extra host[:port] the hub may call back, comma-separated"),
    ),
    "greenhouse": (
        ("api_key", False, "the key Greenhouse sends as its HTTP Basic user (minted when left out)"),
        ("allowed_callback_hosts", False, "extra host[:port] the hub may PATCH, comma-separated"),
    ),
    "teamtailor": (
        ("api_key", True, "the Teamtailor partner API key"),
        ("webhook_secret", False, "checks Teamtailor-Signature on every webhook"),
        ("assessment_criteria", False, "id=Label,id=Label offered as assessment criteria"),
        ("api_base_url", False, "the Partner API host (default https://api.teamtailor.com)"),
        ("provider_key", False, "the key Teamtailor sends, 16+ characters (minted when left out)"),
        ("allowed_callback_hosts", False, "extra host[:port] the hub may call as update-url"),
    ),
    "ashby": (
        ("api_key", True, "the customer's Ashby API key, with candidatesWrite"),
        ("api_base_url", False, "Ashby's API (default https://api.ashbyhq.com)"),
        ("allowed_callback_hosts", False, "extra host[:port] the hub may call back, comma-separated"),
    ),
    "smartrecruiters": (
        ("api_client_id", False, "the client id SmartRecruiters returns at the credential exchange"),
        ("api_client_secret", False, "the client secret SmartRecruiters returns with it"),
        ("api_base_url", False, "SmartRecruiters' API (default https://api.smartrecruiters.com)"),
        ("allowed_callback_hosts", False, "extra host[:port] the hub may PATCH as resultCallbackURL"),
    ),
    "workable": (
        ("api_token", False, "the token Workable issues for the integration (sent on every result PUT)"),
        ("allowed_callback_hosts", False, "extra host[:port] the hub may PUT as callback_url"),
    ),
    "recruitee": (
        ("codename", True, "the codename of the vendor's Recruitee partner"),
        ("partner_secret", True, "the partner secret Recruitee checks as RT-PARTNER-SECRET"),
        ("api_base_url", False, "Recruitee's Partners API (default https://integrations.recruitee.com/api)"),
    ),
    "lever": (
        ("api_key", True, "the customer's Lever API key (HTTP Basic), for the opportunity and its notes"),
        ("signature_token", False, "the webhook's signature token Lever shows (later: integrations update)"),
        ("stage_packages", False, "stageId=packageId,... the stages whose entry orders a package"),
        ("api_base_url", False, "Lever's API (default https://api.lever.co/v1)"),
    ),
}
"""What ``--setting`` / ``settings`` each tool takes: (key, required, meaning). ``tests/test_cli_inprocess.py``
checks it against each connector's ``prepare_settings``; details in docs/connectors/<tool>.md."""


def settings_help() -> str:
    """One line per tool naming its settings, required ones first, for ``integrations create --help``."""
    lines = []
    for tool, known in TOOL_SETTINGS.items():
        required = [key for key, needed, _ in known if needed]
        optional = [key for key, needed, _ in known if not needed]
        parts = [f"{', '.join(required)} (required)"] if required else ["nothing required"]
        if optional:
            parts.append(f"optional {', '.join(optional)}")
        lines.append(f"{tool}: {'; '.join(parts)}.")
    return " ".join(lines)
