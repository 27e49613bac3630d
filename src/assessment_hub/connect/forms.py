"""What the connect page asks the customer for, per tool, and how the hub checks it before connecting.

Each ``ToolForm`` names the connector settings the customer types (the same keys ``integrations create
--setting`` takes, validated by the same ``prepare_settings``), a credential check where the ATS's protocol has
a harmless call for it, and the steps the customer follows in the ATS with the values the hub shows after
connecting (the connector's ``setup``, as ``integrations create`` prints them).

A connector in the registry without an entry here is offered with no fields: when its ``prepare_settings``
needs a setting, the page says so and the customer is sent to the vendor (an operator then uses the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from assessment_hub.connectors.ashby.credentials import check_credentials as check_ashby


@dataclass(frozen=True)
class FormField:
    """One input of the tool's form; ``name`` is the connector setting it fills."""

    name: str
    label: str
    help: str
    required: bool = True
    secret: bool = False
    """Typed into a password input, never shown back."""
    url: bool = False
    """A base URL the hub will call: refused when it points at a private address (unless ALLOW_PRIVATE_NETWORK)."""
    placeholder: str = ""


Check = Callable[[httpx.Client, dict[str, Any]], None]
"""``check(http, prepared_settings)``: returns when the ATS accepts the credentials; raises the connector's
``ConfigError`` (refused) or ``RetryableError`` (the ATS cannot be asked now)."""


@dataclass(frozen=True)
class ToolForm:
    fields: tuple[FormField, ...] = ()
    check: Check | None = None
    checked_by: str = ""
    """How the credentials are checked, said to the customer (empty: nothing to check)."""
    steps: tuple[str, ...] = field(default_factory=tuple)
    """What the customer does in the ATS once connected, beside the values to paste."""


FORMS: dict[str, ToolForm] = {
    "sandbox": ToolForm(
        steps=(
            "Nothing to set up: the sandbox ATS lives in the hub. Orders are placed from the hub "
            "(assessment-hub sandbox create-order) to try the vendor's integration.",
        ),
    ),
    "ashby": ToolForm(
        fields=(
            FormField(
                "api_key",
                "Ashby API key",
                "In Ashby: Admin → Integrations → API Keys → New, with the candidatesWrite permission "
                "(the results are written to your candidates with it).",
                secret=True,
            ),
            FormField(
                "api_base_url",
                "Ashby API URL",
                "Leave empty unless your Ashby account uses another API host.",
                required=False,
                url=True,
                placeholder="https://api.ashbyhq.com",
            ),
        ),
        check=check_ashby,
        checked_by="The key is checked with Ashby (apiKey.info) before the connection is made.",
        steps=(
            "Give Ashby the base URL and the API key below for the assessment partner integration (Ashby enables it).",
            "In Ashby, add an Assessment activity to an interview-plan stage and pick a test.",
        ),
    ),
    "greenhouse": ToolForm(
        steps=(
            "Register the four URLs below with Greenhouse for this assessment partner.",
            "Enter the API key below in your Greenhouse (Configure → Dev Center, assessment partner key).",
            "Add a Take Home Test interview step for this partner to a job's hiring plan, then Send Test.",
        ),
    ),
    "teamtailor": ToolForm(
        fields=(
            FormField(
                "api_key",
                "Teamtailor partner API key",
                "From Teamtailor's Integrations hub, for this partner.",
                secret=True,
            ),
            FormField(
                "webhook_secret",
                "Webhook secret",
                "Only if Teamtailor signs its events for this partner (Integrations hub).",
                required=False,
                secret=True,
            ),
        ),
        checked_by="Teamtailor's partner API has no call that only checks a key: it is used on the first result.",
        steps=(
            "In Teamtailor's Integrations hub, activate the partner and paste the provider key below; "
            "the partner's base URL is the base URL below.",
            "On a job, add a trigger for the partner (for example on stage entry).",
        ),
    ),
}


def form_for(tool: str) -> ToolForm:
    """The tool's form; a tool without an entry asks for nothing (see the module docstring)."""
    return FORMS.get(tool, ToolForm())
