"""Imports every row class so ``Base.metadata`` is complete (for Alembic and ``create_all`` in tools)."""

from assessment_hub.assessment.models import AttachmentRow, OrderRow, PackageRow, ResultRevisionRow
from assessment_hub.db.base import Base
from assessment_hub.integrations.models import ApiKeyRow, HubMetaRow, IntegrationRow

__all__ = [
    "ApiKeyRow",
    "AttachmentRow",
    "Base",
    "HubMetaRow",
    "IntegrationRow",
    "OrderRow",
    "PackageRow",
    "ResultRevisionRow",
]
