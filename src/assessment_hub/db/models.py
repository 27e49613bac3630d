"""Imports every row class so ``Base.metadata`` is complete (for Alembic and ``create_all`` in tools)."""

from assessment_hub.assessment.models import AttachmentRow, OrderRow, PackageRow, ResultRevisionRow
from assessment_hub.connect.models import ConnectLinkRow
from assessment_hub.connectors.sandbox.models import SandboxStateRow, SandboxWritebackRow
from assessment_hub.db.base import Base
from assessment_hub.delivery.heartbeat import WorkerHeartbeatRow
from assessment_hub.delivery.models import DeliveryAttemptRow, OutboxRow
from assessment_hub.integrations.models import ApiKeyRow, HubMetaRow, InboundEventRow, IntegrationRow
from assessment_hub.integrations.notices import NoticeRow
from assessment_hub.privacy.models import ErasureRow
from assessment_hub.webhooks.models import WebhookEndpointRow

__all__ = [
    "ApiKeyRow",
    "AttachmentRow",
    "Base",
    "ConnectLinkRow",
    "DeliveryAttemptRow",
    "ErasureRow",
    "HubMetaRow",
    "InboundEventRow",
    "IntegrationRow",
    "NoticeRow",
    "OrderRow",
    "OutboxRow",
    "PackageRow",
    "ResultRevisionRow",
    "SandboxStateRow",
    "SandboxWritebackRow",
    "WebhookEndpointRow",
    "WorkerHeartbeatRow",
]
