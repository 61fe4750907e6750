"""The privacy guard for what an organization publishes (rule 5).

Everything an org writes that the public can read — its description, fund names,
naming donors and descriptions, donors' names on the fund page, project titles,
summaries, bodies and progress updates — goes through :func:`check` in the
service that saves it, so pages, the API and any import get the same refusal.

Beyond the numbers, addresses and IDs every public text is scanned for, an org
may have learnt a household's name: its staff see the contact of a need they
claimed (audited). So the names of the households of every need the org holds a
claim on — all of them for the project being written about, the most recent
others for the org's other texts — are refused too. The org's own public
contact phone and e-mail are its own, not a household's: they are allowed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select

from charitylink.claims.models import Claim
from charitylink.core import text_guard
from charitylink.core.i18n import _
from charitylink.errors import ValidationFailed
from charitylink.extensions import db
from charitylink.needs import privacy
from charitylink.needs.models import Need

log = logging.getLogger(__name__)

# How many of the org's most recent claimed needs are checked by name outside a
# project (a project's own claims are always checked in full). Decrypting a
# household costs about as much as scanning a page of text, so this bounds the
# work of one save.
RECENT_CLAIMS = 500


def household_names(org_id: int | None, project_id: int | None = None) -> list[str]:
    """Names of the households of needs claimed by the org (any claim status:
    a cancelled claim's staff may have seen the contact too)."""
    if org_id is None:
        return []
    recent = (
        select(Claim.need_id)
        .where(Claim.org_id == org_id)
        .order_by(Claim.id.desc())
        .limit(RECENT_CLAIMS)
    )
    need_ids = set(db.session.scalars(recent))
    if project_id is not None:
        need_ids.update(
            db.session.scalars(
                select(Claim.need_id).where(Claim.project_id == project_id)
            )
        )
    if not need_ids:
        return []
    names: set[str] = set()
    for need in db.session.scalars(select(Need).where(Need.id.in_(need_ids))):
        try:
            household = privacy.decrypt_household(need)
        except ValueError:
            # An unreadable private half (a retired key) has no name to match;
            # the rest of the scan still runs. Logged without any of its data.
            log.warning("need %s: private half unreadable, name not checked", need.id)
            continue
        name = household.get("name") if isinstance(household, dict) else None
        if isinstance(name, str) and name.strip():
            names.add(name.strip())
    return sorted(names)


def check(
    fields: Sequence[tuple[str, str, str]],
    *,
    org: Any = None,
    project_id: int | None = None,
    own_contacts: Iterable[str] = (),
) -> None:
    """Refuse personal data in the public ``fields`` (``(key, label, text)``,
    scanned together) with a 422 naming each offending field.

    ``org`` gives the household names to look for and its own contact phone
    and e-mail (allowed); ``own_contacts`` adds contacts being saved in the same
    request (a registration, a profile edit)."""
    allowed = [*own_contacts]
    if org is not None:
        allowed += [org.contact_phone or "", org.contact_email or ""]
    names = household_names(getattr(org, "id", None), project_id)
    messages = text_guard.scan_fields(fields, household_names=names, allowed=allowed)
    if messages:
        raise ValidationFailed(_("公开内容包含个人信息，请修改后再保存。"), messages)


def check_delivery_note(note: str, claim: Any) -> None:
    """A delivery note is read by moderators, printed on the claim record and
    may be shown with the need's delivery: the household's own name and any
    personal number are refused (the form already asks for neither); the
    org's own contacts are allowed."""
    names: list[str] = []
    try:
        household = privacy.decrypt_household(claim.need)
    except ValueError:
        household = {}
    name = household.get("name") if isinstance(household, dict) else None
    if isinstance(name, str) and name.strip():
        names.append(name.strip())
    org = claim.org
    allowed = [org.contact_phone or "", org.contact_email or ""] if org else []
    fields = [("note", _("交付说明"), note)]
    messages = text_guard.scan_fields(fields, household_names=names, allowed=allowed)
    if messages:
        raise ValidationFailed(messages["note"], messages)


def check_offer(fields: Sequence[tuple[str, str, str]], *, org: Any) -> None:
    """The hook for offers (供给: title, description …) when they arrive: an
    offer is public text the org writes, refused like every other
    (:func:`check`)."""
    check(fields, org=org)


def rescan() -> Iterator[tuple[str, int, dict[str, str]]]:  # noqa: C901 — one branch per kind of org-written public text
    """Scan every stored text organizations published, as :func:`check` would
    now; yields ``(what, id, {field: message})`` for each that fails.

    Text saved before the guard covered it (or before the guard learnt a
    disguise) stays public until someone edits it: this finds it."""
    from charitylink.funds.models import Fund, LedgerEntry, LedgerKind
    from charitylink.offers.models import Offer
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project, ProjectUpdate

    names_of: dict[tuple[int, int | None], list[str]] = {}

    def scan(
        org: Any, fields: list[tuple[str, str, str]], project_id: int | None = None
    ) -> dict[str, str]:
        key = (org.id, project_id)
        if key not in names_of:
            names_of[key] = household_names(org.id, project_id)
        allowed = [org.contact_phone or "", org.contact_email or ""]
        return text_guard.scan_fields(fields, names_of[key], allowed)

    for org in db.session.scalars(select(Organization).order_by(Organization.id)):
        found = scan(org, [("description", _("机构简介"), org.description or "")])
        if found:
            yield "org", org.id, found
    for fund in db.session.scalars(select(Fund).order_by(Fund.id)):
        fields = [
            ("name", _("基金名称"), fund.name or ""),
            ("donor_name", _("冠名方"), fund.donor_name or ""),
            ("description", _("基金说明"), fund.description or ""),
        ]
        if found := scan(fund.org, fields):
            yield "fund", fund.id, found
    donations = select(LedgerEntry).where(
        LedgerEntry.kind == LedgerKind.DONATION, LedgerEntry.donor_name.is_not(None)
    )
    for entry in db.session.scalars(donations.order_by(LedgerEntry.id)):
        fund = db.session.get_one(Fund, entry.fund_id)
        fields = [("donor_name", _("捐赠人"), entry.donor_name or "")]
        if found := scan(fund.org, fields):
            yield "donation", entry.id, found
    for project in db.session.scalars(select(Project).order_by(Project.id)):
        fields = [
            ("title", _("项目名称"), project.title or ""),
            ("summary", _("项目简介"), project.summary or ""),
            ("body", _("项目详情"), project.body or ""),
        ]
        if found := scan(project.org, fields, project.id):
            yield "project", project.id, found
    for update in db.session.scalars(select(ProjectUpdate).order_by(ProjectUpdate.id)):
        project = db.session.get_one(Project, update.project_id)
        fields = [("body", _("进展内容"), update.body or "")]
        if found := scan(project.org, fields, project.id):
            yield "project_update", update.id, found
    for offer in db.session.scalars(select(Offer).order_by(Offer.id)):
        fields = [
            ("title", _("供给名称"), offer.title or ""),
            ("description", _("供给说明"), offer.description or ""),
        ]
        if found := scan(offer.org, fields):
            yield "offer", offer.id, found
