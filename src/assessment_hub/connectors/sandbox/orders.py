"""Realistic sandbox orders: candidate, application and job data from Faker, seeded per order.

The sandbox integration plays an ATS: its orders carry the full Kombo model coverage
(kombo-contract.md §9): candidate remote id, names, email, phone; job code, HTML description,
location and hiring team.
"""

from __future__ import annotations

import random
import threading

from faker import Faker
from sqlalchemy.orm import Session

from assessment_hub.assessment import intake
from assessment_hub.connectors.sandbox.service import sandbox_integration
from assessment_hub.errors import InputInvalid

_fakers = threading.local()


def _faker() -> Faker:
    """This thread's Faker: building one costs ~15 ms (its providers load), re-seeding it almost nothing."""
    fake = getattr(_fakers, "fake", None)
    if fake is None:
        fake = _fakers.fake = Faker()
    return fake


def fake_order_data(seed: int, email: str | None = None) -> intake.UnifiedOrder:
    """Candidate, application and job objects for one order; the same ``seed`` gives the same data."""
    fake = _faker()
    fake.seed_instance(seed)
    first, last = fake.first_name(), fake.last_name()
    title = fake.job()
    recruiter_first, recruiter_last = fake.first_name(), fake.last_name()
    manager_first, manager_last = fake.first_name(), fake.last_name()
    return {
        "candidate": {
            "remote_id": f"cand_{fake.numerify('######')}",
            "email": email or f"{first}.{last}@{fake.free_email_domain()}".lower().replace(" ", ""),
            "first_name": first,
            "last_name": last,
            "phone": fake.phone_number(),
        },
        "application": {"remote_id": f"app_{fake.numerify('######')}"},
        "job": {
            "remote_id": f"job_{fake.numerify('####')}",
            "name": title,
            "job_code": fake.bothify("JOB-####-??").upper(),
            "description": f"<p>{fake.paragraph(nb_sentences=3)}</p>",
            "location": {
                "street_1": fake.street_address(),
                "street_2": None,
                "city": fake.city(),
                "state": fake.state(),
                "zip_code": fake.postcode(),
                "country": "US",
                "raw": None,
            },
            "hiring_team": [
                {
                    "remote_id": f"user_{fake.numerify('####')}",
                    "email": f"{recruiter_first}.{recruiter_last}@example.com".lower(),
                    "first_name": recruiter_first,
                    "last_name": recruiter_last,
                    "hiring_team_roles": ["RECRUITER"],
                },
                {
                    "remote_id": f"user_{fake.numerify('####')}",
                    "email": f"{manager_first}.{manager_last}@example.com".lower(),
                    "first_name": manager_first,
                    "last_name": manager_last,
                    "hiring_team_roles": ["HIRING_MANAGER"],
                },
            ],
        },
    }


def check_orderable(session: Session, integration_id: str, package_id: str) -> None:
    """An active sandbox integration with ``package_id`` published; raises ``IntegrationNotFound`` or
    ``InputInvalid`` (naming the published packages)."""
    sandbox_integration(session, integration_id, active=True)
    if intake.live_package(session, integration_id, package_id) is None:
        published = ", ".join(p.package_id for p in intake.packages(session, integration_id)) or "none"
        raise InputInvalid(
            f"Package {package_id!r} is not published to {integration_id} (published: {published}); "
            "publish it with PUT /v1/assessment/packages first."
        )


def create_sandbox_order(
    session: Session,
    integration_id: str,
    package_id: str,
    *,
    email: str | None = None,
    seed: int | None = None,
    inline: bool = False,
) -> intake.Order:
    """Create an OPEN order in a sandbox integration for one of its published packages.

    Raises ``IntegrationNotFound`` for an unknown or deactivated integration and ``InputInvalid`` when the
    integration is not a sandbox or the package is not published. An inline order queues no
    order-received event: the caller runs ``delivery.inline.deliver_inline`` after committing.
    """
    check_orderable(session, integration_id, package_id)
    data = fake_order_data(seed if seed is not None else random.SystemRandom().randrange(2**31), email)
    return intake.create_order(
        session, integration_id, package_id, data, remote_data={"source": "sandbox", **data}, inline=inline
    )
