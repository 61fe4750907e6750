"""Every model, imported once so the metadata (Alembic, tests) is complete."""

from charitylink.accounts.models import ApiToken, Role, User
from charitylink.claims.models import (
    Claim,
    ClaimInstalment,
    ClaimSession,
    ClaimStatus,
)
from charitylink.claims.proposals import MatchProposal
from charitylink.complaints.models import Complaint
from charitylink.core.audit import AuditEvent
from charitylink.core.idempotency import IdempotencyRecord
from charitylink.funds.models import Fund, FundKind, LedgerEntry, LedgerKind
from charitylink.integrity.models import SignalDismissal
from charitylink.mail.models import MailStatus, OutboxMail
from charitylink.needs.models import Need, NeedStatus
from charitylink.notifications.models import Notification
from charitylink.offers.models import Offer, OfferMonth
from charitylink.orgs.models import Organization, OrgStatus, OrgType
from charitylink.privacy.models import Consent, PrivateExport, PrivateViewFlag
from charitylink.privacy.purge_models import PrivacyRequest, PurgeLog
from charitylink.projects.models import Project, ProjectStatus, ProjectUpdate
from charitylink.regions.models import Region
from charitylink.search.models import SearchOutbox
from charitylink.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Claim",
    "MatchProposal",
    "ClaimInstalment",
    "ClaimSession",
    "ClaimStatus",
    "Consent",
    "PrivacyRequest",
    "PurgeLog",
    "PrivateExport",
    "PrivateViewFlag",
    "Complaint",
    "Fund",
    "FundKind",
    "IdempotencyRecord",
    "LedgerEntry",
    "LedgerKind",
    "MailStatus",
    "Need",
    "NeedStatus",
    "Notification",
    "Offer",
    "OfferMonth",
    "OrgStatus",
    "OrgType",
    "Organization",
    "OutboxMail",
    "Project",
    "ProjectStatus",
    "ProjectUpdate",
    "Region",
    "SignalDismissal",
    "Role",
    "SearchOutbox",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
