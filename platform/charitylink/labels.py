"""Every Chinese label set, for templates (``L.NEED_TYPE_LABELS[...]``)."""

from charitylink.accounts.models import ROLE_LABELS
from charitylink.claims.models import CLAIM_STATUS_LABELS, DELIVERY_METHOD_LABELS
from charitylink.funds.models import FUND_KIND_LABELS, LEDGER_KIND_LABELS
from charitylink.needs.models import (
    ASSISTANCE_LABELS,
    CATEGORY_LABELS,
    NEED_STATUS_LABELS,
    NEED_TYPE_LABELS,
    URGENCY_LABELS,
)
from charitylink.orgs.models import ORG_STATUS_LABELS, ORG_TYPE_LABELS
from charitylink.projects.models import PROJECT_STATUS_LABELS

__all__ = [
    "ASSISTANCE_LABELS",
    "CATEGORY_LABELS",
    "CLAIM_STATUS_LABELS",
    "DELIVERY_METHOD_LABELS",
    "FUND_KIND_LABELS",
    "LEDGER_KIND_LABELS",
    "NEED_STATUS_LABELS",
    "NEED_TYPE_LABELS",
    "ORG_STATUS_LABELS",
    "ORG_TYPE_LABELS",
    "PROJECT_STATUS_LABELS",
    "ROLE_LABELS",
    "URGENCY_LABELS",
]
