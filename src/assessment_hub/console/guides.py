"""The customer's set-up steps per tool, in short, shown after an integration is created.

Condensed from ``docs/connectors/<tool>.md`` (the full text, with the field mappings, is there).
"""

from __future__ import annotations

STEPS: dict[str, tuple[str, ...]] = {
    "sandbox": (
        "Nothing to paste anywhere: the sandbox ATS lives in the hub.",
        "Publish packages with PUT /v1/assessment/packages (the vendor's key and this integration id).",
        "Place orders from the Sandbox page (or `assessment-hub sandbox create-order`) and watch them here.",
    ),
    "ashby": (
        "The customer creates an Ashby API key with the candidatesWrite permission (setting api_key).",
        "Hand base_url and api_key above to Ashby for the partner integration; Ashby enables it.",
        "In Ashby, add an Assessment activity to an interview-plan stage and pick a test (the vendor's packages).",
        "Start it (or automate on stage entry): the vendor receives assessment:order-received.",
    ),
    "greenhouse": (
        "Register the four URLs above with Greenhouse for the assessment partner integration.",
        "The customer enters api_key in their Greenhouse (Configure > Dev Center > Assessment partners).",
        "Greenhouse lists the tests (the vendor's packages) and sends send_test when a recruiter assigns one.",
        "Results: the hub PATCHes the take-home-test url; Greenhouse then pulls test_status.",
    ),
    "teamtailor": (
        "Teamtailor's partner base URL is base_url above; the customer activates the partner in the "
        "Integrations hub and pastes provider_key.",
        "The customer gives you the partner API key (and the webhook secret if signatures are on).",
        "On a job, add a trigger for the partner: Teamtailor shows a Test select with the vendor's packages.",
        "When it fires, Teamtailor posts the event to /webhook and the vendor receives assessment:order-received.",
    ),
}


def setup_steps(tool: str) -> tuple[str, ...]:
    """The steps for ``tool`` (none for a tool without a guide); the full guide: docs/connectors/<tool>.md."""
    return STEPS.get(tool, ())
