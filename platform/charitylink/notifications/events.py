"""Who hears of each state change, and what they are shown.

The services that change state call these functions after their guarded move
and audit row, in the same transaction (docs/notifications.md has the table).
Each picks the recipients by role and region, the public values the text
needs, and the page the recipient works on. ``params`` never carries the
private half of a need (household name, ID number, phone, address, notes):
only codes, public region names, org names, project titles, amounts and dates.

Event keys: a transition an object can go through only once (a claim is
created, expires, is cancelled, delivered, confirmed once) is keyed by the
object alone, so a job run twice cannot tell anyone twice. A transition that
can come round again (a need re-submitted after a rejection, a project
rejected twice, an org suspended, reinstated and suspended again) is keyed by
the audit row that records it: one audit row, one event."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.core.permissions import Role
from charitylink.extensions import db
from charitylink.needs.models import NeedStatus
from charitylink.notifications.services import notify, org_users, region_moderators
from charitylink.webhooks import models as hooks
from charitylink.webhooks.outbox import claim_event, need_event

if TYPE_CHECKING:
    from charitylink.claims.models import Claim
    from charitylink.core.audit import AuditEvent
    from charitylink.needs.models import Need
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project


def _occurrence(row: AuditEvent) -> str:
    if row.id is None:
        db.session.flush()
    return str(row.id)


def _need_params(need: Need) -> dict[str, Any]:
    from charitylink.regions.services import region_name

    # The public region (coarsened where few needs share a county), as the
    # public library shows it: never the household's own county when hidden.
    return {"code": need.code, "region": region_name(need.public_region_code)}


def _user(user_id: int | None) -> list[User]:
    user = db.session.get(User, user_id) if user_id is not None else None
    return [user] if user is not None else []


# --------------------------------------------------------------------------
# Organisations
# --------------------------------------------------------------------------


def org_registered(org: Organization, row: AuditEvent) -> None:
    notify(
        "org_registered",
        region_moderators(org.region_code),
        event=f"org:{org.id}:{_occurrence(row)}",
        params={"org": org.name},
        url=f"/mod/orgs/{org.id}",
    )


ORG_PAGES = {
    "org_verified": "/org",
    "org_rejected": "/org/resubmit",
    "org_suspended": "/org/profile",
}


def org_decided(kind: str, org: Organization, row: AuditEvent) -> None:
    """org_verified, org_rejected, org_suspended: told to the org's admins."""
    notify(
        kind,
        org_users(org.id, admins_only=True),
        event=f"org:{org.id}:{_occurrence(row)}",
        params={"org": org.name},
        url=ORG_PAGES[kind],
    )


# --------------------------------------------------------------------------
# Needs
# --------------------------------------------------------------------------


def need_submitted(need: Need, row: AuditEvent) -> None:
    notify(
        "need_submitted",
        region_moderators(need.region_code, exclude=need.entered_by_id),
        event=f"need:{need.id}:{_occurrence(row)}",
        params=_need_params(need),
        url=f"/mod/needs/{need.code}",
    )


def need_reviewed(kind: str, need: Need, row: AuditEvent) -> None:
    """need_approved, need_rejected: told to the moderator who entered it."""
    notify(
        kind,
        _user(need.entered_by_id),
        event=f"need:{need.id}:{_occurrence(row)}",
        params=_need_params(need),
        url=f"/mod/needs/{need.code}",
    )
    if kind == "need_approved":
        need_event(hooks.NEED_PUBLISHED, need)


def need_withdrawn(need: Need, row: AuditEvent, org_ids: Iterable[int] = ()) -> None:
    """The staff of the orgs whose reserved claims the withdrawal cancelled
    (``org_ids``): their reservation is gone and the money is back in their
    fund. Orgs whose delivery stands are not told: nothing changes for them."""
    ids = sorted(set(org_ids))
    recipients: list[User] = []
    if ids:
        recipients = list(
            db.session.scalars(
                select(User).where(
                    User.org_id.in_(ids),
                    User.active.is_(True),
                    User.role.in_([Role.ORG_ADMIN, Role.ORG_MEMBER]),
                )
            )
        )
    notify(
        "need_withdrawn",
        recipients,
        event=f"need:{need.id}:{_occurrence(row)}",
        params=_need_params(need),
        url="/org/claims",
    )
    need_event(hooks.NEED_WITHDRAWN, need)


# --------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------


def _claim_params(claim: Claim) -> dict[str, Any]:
    return {
        **_need_params(claim.need),
        "org": claim.org.name,
        "amount_fen": claim.amount_fen,
        "due_on": claim.due_on,
    }


def claim_created(claim: Claim) -> None:
    notify(
        "claim_created",
        region_moderators(claim.need.region_code),
        event=f"claim:{claim.id}",
        params=_claim_params(claim),
        url=f"/mod/needs/{claim.need.code}",
    )
    claim_event(hooks.CLAIM_CREATED, claim)
    need = claim.need
    if need.status == NeedStatus.FULLY_CLAIMED and need.claimed_fen == need.amount_fen:
        need_event(hooks.NEED_FULLY_CLAIMED, need)


def claim_expired(claim: Claim) -> None:
    """The claiming org's staff; keyed by the claim alone (a claim expires
    once), so running ``expire`` again tells nobody twice."""
    notify(
        "claim_expired",
        org_users(claim.org_id),
        event=f"claim:{claim.id}",
        params=_claim_params(claim),
        url=f"/org/claims/{claim.id}",
    )


def claim_cancelled(claim: Claim) -> None:
    """The need's moderators: its amount is open to other orgs again."""
    notify(
        "claim_cancelled",
        region_moderators(claim.need.region_code),
        event=f"claim:{claim.id}",
        params=_claim_params(claim),
        url=f"/mod/needs/{claim.need.code}",
    )


def delivery_reported(claim: Claim) -> None:
    """The need's moderators: a 回访 to do."""
    notify(
        "delivery_reported",
        region_moderators(claim.need.region_code),
        event=f"claim:{claim.id}",
        params=_claim_params(claim),
        url="/mod/claims",
    )
    claim_event(hooks.CLAIM_DELIVERED, claim)


def delivery_confirmed(claim: Claim) -> None:
    notify(
        "delivery_confirmed",
        org_users(claim.org_id),
        event=f"claim:{claim.id}",
        params=_claim_params(claim),
        url=f"/org/claims/{claim.id}",
    )
    claim_event(hooks.CLAIM_CONFIRMED, claim)


def offer_matched(proposal: Any) -> None:
    """A moderator proposed a match of the org's offer to a need: its staff
    accept or decline it on the offer's match page (keyed by the proposal)."""
    need = proposal.need
    notify(
        "offer_matched",
        org_users(proposal.offer.org_id),
        event=f"match_proposal:{proposal.id}",
        params={**_need_params(need), "offer": proposal.offer.title},
        url=f"/org/offers/{proposal.offer_id}/match?need={need.code}",
    )


# --------------------------------------------------------------------------
# Projects
# --------------------------------------------------------------------------


def project_submitted(project: Project, row: AuditEvent) -> None:
    notify(
        "project_submitted",
        region_moderators(project.org.region_code),
        event=f"project:{project.id}:{_occurrence(row)}",
        params={"project": project.title, "org": project.org.name},
        url=f"/mod/projects/{project.id}",
    )


def project_reviewed(kind: str, project: Project, row: AuditEvent) -> None:
    """project_approved, project_rejected: told to the org's staff."""
    notify(
        kind,
        org_users(project.org_id),
        event=f"project:{project.id}:{_occurrence(row)}",
        params={"project": project.title, "org": project.org.name},
        url=f"/org/projects/{project.id}",
    )


# --------------------------------------------------------------------------
# Complaints (举报)
# --------------------------------------------------------------------------


def complaint_received(complaint: Any, row: AuditEvent) -> None:
    """The moderators of the subject's region; the admins for a complaint
    about the platform, or where no moderator covers the region. Only the
    reference is told: never the text, the contact or the subject's details."""
    recipients = region_moderators(complaint.region_code)
    if not recipients:
        recipients = list(
            db.session.scalars(
                select(User).where(User.role == Role.ADMIN, User.active.is_(True))
            )
        )
    notify(
        "complaint_received",
        recipients,
        event=f"complaint:{complaint.id}",
        params={"ref": complaint.ref},
        url=f"/mod/complaints/{complaint.id}",
    )


def complaint_resolved(complaint: Any, row: AuditEvent) -> None:
    """The complainant, if they were signed in when they complained (an
    anonymous one follows the tracking code; nobody else is told)."""
    notify(
        "complaint_resolved",
        _user(complaint.complainant_id),
        event=f"complaint:{complaint.id}",
        params={"ref": complaint.ref},
        url="",
    )


# --------------------------------------------------------------------------
# Disputes (a failed follow-up visit)
# --------------------------------------------------------------------------


def delivery_disputed(claim: Claim, row: AuditEvent) -> None:
    """The org is asked to answer; the params carry no reason (it may name
    the household)."""
    notify(
        "delivery_disputed",
        org_users(claim.org_id),
        event=f"claim:{claim.id}:{_occurrence(row)}",
        params=_claim_params(claim),
        url=f"/org/claims/{claim.id}",
    )
    claim_event(hooks.CLAIM_DISPUTED, claim)


def dispute_answered(claim: Claim, row: AuditEvent) -> None:
    """The need's moderators: the org's answer is in, the dispute can be
    resolved (the note itself stays on the claim page: it may name the
    household)."""
    notify(
        "dispute_answered",
        region_moderators(claim.need.region_code),
        event=f"claim:{claim.id}:{_occurrence(row)}",
        params=_claim_params(claim),
        url=f"/mod/claims/{claim.id}",
    )


def dispute_resolved(claim: Claim, row: AuditEvent) -> None:
    notify(
        "dispute_resolved",
        org_users(claim.org_id),
        event=f"claim:{claim.id}:{_occurrence(row)}",
        params=_claim_params(claim),
        url=f"/org/claims/{claim.id}",
    )
    if claim.status == "confirmed":
        # Confirmed after all (in whole or in part): the same event as a
        # confirmation at the visit, for systems that follow claims.
        claim_event(hooks.CLAIM_CONFIRMED, claim)


# --------------------------------------------------------------------------
# Pairing (结对关爱): months falling due, missed, a pairing ended early
# --------------------------------------------------------------------------


def _pairing_params(claim: Claim, due_on: Any = None) -> dict[str, Any]:
    # The need's code and the claim's number: nothing of the household.
    return {
        **_need_params(claim.need),
        "org": claim.org.name,
        "ref": f"{claim.need.code} #{claim.id}",
        "due_on": due_on or claim.due_on,
    }


def instalment_due(claim: Claim, inst: Any) -> bool:
    """The org's staff, a few days before a month falls due; once per month."""
    told = notify(
        "instalment_due",
        org_users(claim.org_id),
        event=f"instalment:{inst.id}",
        params=_pairing_params(claim, inst.due_on),
        url=f"/org/claims/{claim.id}",
    )
    return bool(told)


def instalment_missed(claim: Claim, inst: Any) -> None:
    """The org's staff and the region's moderators (it is on their work list)."""
    params = _pairing_params(claim, inst.due_on)
    notify(
        "instalment_missed",
        org_users(claim.org_id),
        event=f"instalment:{inst.id}",
        params=params,
        url=f"/org/claims/{claim.id}",
    )
    notify(
        "instalment_missed",
        region_moderators(claim.need.region_code),
        event=f"instalment:{inst.id}",
        params=params,
        url=f"/mod/needs/{claim.need.code}",
    )


def pairing_ended(claim: Claim, months: int) -> None:
    """Both sides: the org's staff and the region's moderators; once a claim."""
    params = {**_pairing_params(claim), "months": months}
    notify(
        "pairing_ended",
        org_users(claim.org_id),
        event=f"claim:{claim.id}",
        params=params,
        url=f"/org/claims/{claim.id}",
    )
    notify(
        "pairing_ended",
        region_moderators(claim.need.region_code),
        event=f"claim:{claim.id}",
        params=params,
        url=f"/mod/needs/{claim.need.code}",
    )


# --------------------------------------------------------------------------
# Privacy: consents withdrawn, private data viewed too often
# --------------------------------------------------------------------------


def consent_withdrawn(
    need: Need, consent: Any, row: AuditEvent, org_ids: Iterable[int]
) -> None:
    """The staff of every org that was shown the household's contact: the
    household withdrew its consent, so the contact they hold may no longer be
    used. Only the need's code and public region are said."""
    ids = sorted(set(org_ids))
    if not ids:
        return
    recipients = list(
        db.session.scalars(
            select(User).where(
                User.org_id.in_(ids),
                User.active.is_(True),
                User.role.in_([Role.ORG_ADMIN, Role.ORG_MEMBER]),
            )
        )
    )
    notify(
        "consent_withdrawn",
        recipients,
        event=f"consent:{consent.id}:{_occurrence(row)}",
        params=_need_params(need),
        url="/org/claims",
    )


def private_views_flagged(user: User, views: int, hour_key: str) -> None:
    """The admins: an account viewed more private halves in an hour than the
    alert allows. Once per account and clock hour (the event key)."""
    admins = list(
        db.session.scalars(
            select(User).where(User.role == Role.ADMIN, User.active.is_(True))
        )
    )
    notify(
        "private_views_flagged",
        admins,
        event=f"private_views:{user.id}:{hour_key}",
        params={"account": user.email, "views": views},
        url="/admin/privacy/flags",
    )
