"""The demo (docs/product.md, "Seed data"): ``flask --app wsgi seed``.

Fictional orgs, funds, projects, needs and claims in every state, made through
the services (so every row has its audit history), from seeds/demo."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta
from typing import Any

import click
from sqlalchemy import func, select

from charitylink.core.permissions import Role
from charitylink.core.timeutil import CHINA, as_utc, today, utcnow
from charitylink.extensions import db
from charitylink.seeding.fictional import (
    ASSISTANCE_BY_CATEGORY,
    CATEGORIES,
    DEMO_DIR,
    URGENCIES,
    claimable_counties,
    fictional_household,
    need_texts,
)

DEMO_PASSWORD = "Demo-Pass-2026"


def has_data() -> bool:
    from charitylink.models import Organization, User

    users = db.session.scalar(select(func.count()).select_from(User)) or 0
    orgs = db.session.scalar(select(func.count()).select_from(Organization)) or 0
    return bool(users or orgs)


def _day(offset: int) -> date:
    """A date in seeds/demo: days from the day the demo is loaded (``-40`` is
    forty days ago), so the demo is as current on any day as on the first:
    projects running, reports due as described, deadlines ahead."""
    return today() + timedelta(days=offset)


def _demo() -> dict[str, Any]:
    return json.loads((DEMO_DIR / "demo.json").read_text(encoding="utf-8"))


def _seed_orgs_users(demo: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from charitylink.accounts import services as accounts
    from charitylink.core import audit
    from charitylink.orgs.models import Organization, OrgStatus

    orgs: dict[str, Any] = {}
    for row in demo["orgs"]:
        fields = {k: v for k, v in row.items() if k != "key"}
        org = Organization(**fields)
        if org.status == OrgStatus.VERIFIED:
            org.verified_at = utcnow()
        db.session.add(org)
        db.session.flush()
        audit.record(None, "org.seed", org, None, org.status, reason="演示数据")
        orgs[row["key"]] = org
    users: dict[str, Any] = {}
    for row in demo["users"]:
        member_of = orgs.get(row.get("org", ""))
        users[row["email"]] = accounts.create_user(
            row["email"],
            DEMO_PASSWORD,
            row["role"],
            name=row["name"],
            org_id=member_of.id if member_of else None,
            region_prefix=row.get("region_prefix"),
        )
        if member_of is not None and member_of.status == OrgStatus.VERIFIED:
            # A verified org's demo staff confirmed their address long ago;
            # a pending one's admin has not (the review queue shows both).
            users[row["email"]].email_confirmed_at = utcnow()
    return orgs, users


def _org_admin(users: dict[str, Any], org: Any) -> Any:
    return next(
        u for u in users.values() if u.org_id == org.id and u.role == Role.ORG_ADMIN
    )


def _seed_funds(
    demo: dict[str, Any], orgs: dict[str, Any], users: dict[str, Any]
) -> dict[str, Any]:
    from charitylink.funds import services as funds

    out: dict[str, Any] = {}
    for row in demo["funds"]:
        org = orgs[row["org"]]
        admin = _org_admin(users, org)
        fund = funds.create_fund(
            org,
            admin,
            name=row["name"],
            kind=row["kind"],
            donor_name=row.get("donor_name"),
            need_types=row.get("need_types"),
            region_prefix=row.get("region_prefix"),
            description=row.get("description", ""),
        )
        for amount, donor, reference in row["donations"]:
            funds.record_donation(
                fund, admin, amount_fen=amount, donor_name=donor, reference=reference
            )
        out[row["key"]] = fund
    return out


def _seed_projects(
    demo: dict[str, Any],
    orgs: dict[str, Any],
    funds: dict[str, Any],
    users: dict[str, Any],
) -> dict[str, Any]:
    from charitylink.core import audit
    from charitylink.projects.models import Project, ProjectStatus, ProjectUpdate

    out: dict[str, Any] = {}
    now = utcnow()
    for row in demo["projects"]:
        org = orgs[row["org"]]
        admin = _org_admin(users, org)
        project = Project(
            org_id=org.id,
            fund_id=funds[row["fund"]].id,
            filing_number=row["filing_number"],
            title=row["title"],
            summary=row["summary"],
            body=row["body"],
            need_types=row["need_types"],
            region_codes=row["region_codes"],
            target_fen=row["target_fen"],
            start_on=None if row["start_on"] is None else _day(row["start_on"]),
            end_on=None if row["end_on"] is None else _day(row["end_on"]),
            status=ProjectStatus(row["status"]),
            created_by_id=admin.id,
        )
        published_ago = timedelta(days=row.get("published_days_ago", 0))
        if project.status in (ProjectStatus.SUBMITTED, ProjectStatus.PUBLISHED):
            project.submitted_at = now - published_ago - timedelta(days=10)
        if project.status == ProjectStatus.PUBLISHED:
            project.published_at = now - published_ago
        db.session.add(project)
        db.session.flush()
        audit.record(
            admin, "project.seed", project, None, project.status, reason="演示数据"
        )
        for offset, body in row["updates"]:
            at = datetime.combine(_day(offset), time(10, 0), tzinfo=CHINA)
            db.session.add(
                ProjectUpdate(
                    project_id=project.id, body=body, author_id=admin.id, created_at=at
                )
            )
            project.last_progress_at = at
        out[row["key"]] = project
    return out


# Which moderator enters and which approves (four eyes), by province prefix.
_ENTRY = {
    "2201": ("mod.changchun", "mod.jilin"),
    "22": ("mod.jilin", "admin"),
    "62": ("mod.gansu", "admin"),
    "63": ("mod.qinghai", "admin"),
}


def _moderators(users: dict[str, Any], county: str) -> tuple[Any, Any]:
    key = "2201" if county.startswith("2201") else county[:2]
    enter, approve = _ENTRY[key]

    def find(prefix: str) -> Any:
        return next(u for e, u in users.items() if e.startswith(prefix + "@"))

    return find(enter), find(approve)


def _seed_needs(users: dict[str, Any], n: int = 320) -> list[Any]:
    from charitylink.needs import services as needs

    rng = random.Random(8)
    texts = need_texts()
    templates, names = texts["templates"], texts["names"]
    counties = [c for c in claimable_counties() if c[:2] in ("22", "62", "63")]
    # Most needs in 长春 and a few counties, so the library shows real coarsening.
    weighted = [c for c in counties if c.startswith("2201")] * 6 + counties
    d0 = today()
    now = utcnow()
    out = []
    for i in range(n):
        county = rng.choice(weighted)
        need_type = rng.choice(sorted(templates))
        title, description, (lo, hi) = rng.choice(templates[need_type])
        category = rng.choice(CATEGORIES)
        hh = fictional_household(rng, county, names)
        enter, approve = _moderators(users, county)
        data = {
            "external_id": f"DEMO-{i + 1:05d}",
            "title": title,
            "description": description,
            "category": category,
            "need_type": need_type,
            "region_code": county,
            "household_size": rng.choice([1, 1, 2, 3, 3, 4, 5]),
            "gov_assistance": [
                {
                    "type": t,
                    "monthly_amount": rng.randrange(lo_a, hi_a + 1, 100) if hi_a else 0,
                }
                for t, lo_a, hi_a in ASSISTANCE_BY_CATEGORY[category]
            ],
            "amount": rng.randrange(lo, hi + 1, 100) * 100,
            "urgency": rng.choice(URGENCIES),
            "deadline": (d0 + timedelta(days=rng.randrange(20, 200))).isoformat(),
            "household": {
                "name": hh.name,
                "id_number": hh.id_number,
                "phone": hh.phone,
                "address": hh.address,
                "region_code": hh.township,
                "notes": "虚构的演示数据：入户核查已完成。",
                "consent_share_contact": rng.random() < 0.4,
            },
        }
        need = needs.create_need(data, enter)
        roll = rng.random()
        if roll < 0.04:
            out.append(need)  # stays a draft
            continue
        needs.submit_need(need, enter)
        if roll < 0.08:
            out.append(need)  # waits for review
            continue
        if roll < 0.10:
            needs.reject_need(
                need, approve, "描述不够具体，请补充已享受救助后的实际缺口。"
            )
            out.append(need)
            continue
        needs.approve_need(need, approve)
        need.published_at = now - timedelta(
            days=rng.randrange(5, 330), hours=rng.randrange(24)
        )
        if roll < 0.12:
            needs.withdraw_need(need, approve, "家庭情况好转，已不再需要帮扶。")
        out.append(need)
    return out


def _give_fate(
    claim: Any, user: Any, fate: int, users: dict[str, Any], rng: random.Random
) -> None:
    """Take a new claim to the state the demo shows for ``fate`` (0–9)."""
    from charitylink.claims import services as claims

    need = claim.need
    if fate in (0, 1, 2, 3):
        amount = claim.amount_fen
        delivered = amount if rng.random() < 0.85 else amount * 9 // 10
        claims.deliver_claim(
            claim,
            user,
            delivered,
            min(
                today(), claim.created_at.date() + timedelta(days=rng.randrange(1, 30))
            ),
            rng.choice(["cash", "goods", "service"]),
            "已按约定交付，附收据。",
        )
        if fate in (0, 1, 2):
            _, approver = _moderators(users, need.region_code)
            claims.confirm_claim(claim, approver)
    elif fate == 4:
        claims.cancel_claim(claim, user)
    elif fate == 5:
        claim.due_on = today() - timedelta(days=1)  # left to expire
    else:
        if fate == 6:  # near expiry
            claim.due_on = today() + timedelta(days=rng.randrange(1, 6))
        # An open claim was made within its delivery period, not months ago.
        claim.created_at = max(
            as_utc(need.published_at),
            utcnow() - timedelta(days=rng.randrange(1, 10)),
        )


def _dispute(
    delivered: list[Any], staff_of: dict[int, Any], users: dict[str, Any]
) -> None:
    """Two follow-up visits that went wrong, so the demo shows both ends of a
    dispute: one still 核实中 (the org has answered), one reversed by the
    other moderator (the money back in the fund as misuse to recover)."""
    from charitylink.claims import services as claims

    for n, claim in enumerate(delivered):
        visitor, other = _moderators(users, claim.need.region_code)
        claims.dispute_claim(claim, visitor, "回访时家庭称未收到约定的帮扶。", 0)
        claims.respond_to_dispute(
            claim, staff_of[claim.id], "已联系家庭核对，正在补充交付凭证。"
        )
        if n == 1:
            claims.resolve_dispute(
                claim, other, "reverse", reason="补充材料不能证明已交付，予以撤销。"
            )


def _set_deadlines(open_needs: list[Any]) -> None:
    # A few needs whose deadline passed without full claims (the seed expires
    # them), and a few whose deadline is this week (the moderators' "expiring
    # soon"); the others' deadlines are weeks or months ahead.
    for need in open_needs[-4:]:
        need.deadline_on = today() - timedelta(days=1)
    for days, need in enumerate(open_needs[-7:-4], start=3):
        need.deadline_on = today() + timedelta(days=days)


def _seed_claims(
    needs: list[Any],
    orgs: dict[str, Any],
    funds: dict[str, Any],
    projects: dict[str, Any],
    users: dict[str, Any],
) -> None:
    """Claims in every state, from funds whose purpose fits."""
    from charitylink.claims import services as claims
    from charitylink.errors import DomainError
    from charitylink.funds.services import check_purpose
    from charitylink.needs.models import NeedStatus

    rng = random.Random(11)
    staff = {
        key: _org_admin(users, org) for key, org in orgs.items() if org.is_verified
    }
    project_for_fund = {
        p.fund_id: p for p in projects.values() if p.status == "published"
    }
    fund_list = [f for f in funds.values()]
    published = [n for n in needs if n.status == NeedStatus.PUBLISHED]
    rng.shuffle(published)
    disputed: list[Any] = []

    def staff_user(claim: Any) -> Any:
        return next(u for k, u in staff.items() if orgs[k].id == claim.org_id)

    for i, need in enumerate(published[: int(len(published) * 0.55)]):
        fitting = []
        for fund in fund_list:
            try:
                check_purpose(fund, need.need_type, need.region_code)
            except DomainError:
                continue
            fitting.append(fund)
        if not fitting:
            continue
        fund = rng.choice(fitting)
        org_key = next(k for k, o in orgs.items() if o.id == fund.org_id)
        user = staff[org_key]
        whole = rng.random() < 0.7
        amount = (
            need.remaining_fen
            if whole
            else max(100, need.remaining_fen // 2 // 100 * 100)
        )
        try:
            with db.session.begin_nested():
                claim = claims.claim_need(
                    need, user, fund, amount, project=project_for_fund.get(fund.id)
                )
        except DomainError:
            continue
        claim.created_at = min(
            utcnow(), as_utc(need.published_at) + timedelta(days=rng.randrange(1, 20))
        )
        _give_fate(claim, user, i % 10, users, rng)
        if i % 10 == 3 and len(disputed) < 2:
            disputed.append(claim)
    _dispute(disputed, staff_of={c.id: staff_user(c) for c in disputed}, users=users)
    _set_deadlines([n for n in published if n.status == NeedStatus.PUBLISHED])
    db.session.flush()
    claims.expire_overdue(today())


def load_demo(needs_count: int = 320) -> None:
    """Load seeds/demo into an empty database (every region must be loaded)."""
    demo = _demo()
    with click.progressbar(length=5, label="载入演示数据") as bar:
        orgs, users = _seed_orgs_users(demo)
        bar.update(1)
        funds = _seed_funds(demo, orgs, users)
        bar.update(1)
        projects = _seed_projects(demo, orgs, funds, users)
        bar.update(1)
        needs = _seed_needs(users, needs_count)
        bar.update(1)
        _seed_claims(needs, orgs, funds, projects, users)
        _seed_offers(demo, orgs, users)
        # What the hourly reminder job sends on the seeding day: the overdue
        # project's notices (its org, and the moderators: it is on day 120),
        # claims due this week. Newest, so they are among the few kept unread.
        from charitylink.notifications.reminders import run_reminders

        run_reminders(on_batch=db.session.flush)
        _settle_notifications()
        db.session.commit()
        bar.update(1)


def _seed_offers(
    demo: dict[str, Any], orgs: dict[str, Any], users: dict[str, Any]
) -> None:
    """What the care centre, the volunteer team and the charity can give besides
    cash, through the offers service (validated, privacy-scanned, audited),
    running from the first of last month so this month's capacity is live."""
    from charitylink.offers import services as offers

    start = today().replace(day=1) - timedelta(days=1)
    for row in demo.get("offers", []):
        org = orgs[row["org"]]
        data = {k: v for k, v in row.items() if k != "org"}
        data["start_on"] = start.replace(day=1).isoformat()
        offers.create_offer(org, _org_admin(users, org), data)


# Unread notifications each demo login keeps: enough for the bell and the
# inbox to show something, not the hundreds the seeded history produced.
UNREAD_KEPT = 4


def _settle_notifications() -> None:
    """The seeded history went through the services, so it told everyone
    everything at once. Keep each user's newest few unread and mark the rest
    read; keep the mails of those few only (the rest of the demo's past was
    never sent to anyone)."""
    from sqlalchemy import delete, update

    from charitylink.mail.models import OutboxMail
    from charitylink.notifications.kinds import render
    from charitylink.notifications.models import Notification

    rows = db.session.execute(
        select(
            Notification.id,
            Notification.user_id,
            Notification.kind,
            Notification.params,
        ).order_by(Notification.user_id, Notification.id.desc())
    ).all()
    kept: set[int] = set()
    subjects: set[tuple[int, str]] = set()
    per_user: dict[int, int] = {}
    for row in rows:
        if per_user.get(row.user_id, 0) < UNREAD_KEPT:
            per_user[row.user_id] = per_user.get(row.user_id, 0) + 1
            kept.add(row.id)
            subjects.add((row.user_id, render(row.kind, row.params)[0][:200]))
    db.session.execute(
        update(Notification)
        .where(Notification.id.not_in(kept) if kept else Notification.id.is_not(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    for mail_id, user_id, subject in db.session.execute(
        select(OutboxMail.id, OutboxMail.user_id, OutboxMail.subject)
    ).all():
        if (user_id, subject) not in subjects:
            db.session.execute(delete(OutboxMail).where(OutboxMail.id == mail_id))
