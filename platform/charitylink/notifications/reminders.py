"""Reminders: what falls due with the calendar, not with anyone's action.

``flask --app wsgi remind`` runs :func:`run_reminders` from cron (hourly is
fine). Each reminder has a day; a run tells whoever has not yet been told of
it. The event key names the thing and the day it counts from (a claim's due
date, a project's last update, a need's submission), so running again, or on
two nodes at once, tells nobody twice (the notifications' unique key), and the
next cycle (a new progress update, a resubmission) reminds again.

A run that missed a day (the server was down over a weekend) catches up on the
next one: a reminder is sent from its day until the next one of the same thing
takes over; a claim made after its "7 days before" day gets only the later
reminder. Days are China calendar days (``core.timeutil.today``).

Rows are read in batches of ``BATCH`` by id (a province can have thousands of
needs waiting); the CLI commits after each batch, so no lock is held for long.
Params are public values only: need codes, org and project names, dates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from charitylink.accounts.models import User
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core.timeutil import CHINA, to_china, today
from charitylink.extensions import db
from charitylink.needs.models import Need, NeedStatus
from charitylink.notifications.models import Notification
from charitylink.notifications.services import notify, org_users, region_moderators
from charitylink.orgs.models import Organization, OrgStatus
from charitylink.projects.models import (
    ESCALATE_AFTER,
    REMIND_AFTER,
    Project,
    ProjectStatus,
)

BATCH = 500

# Claims: reminded this many days before ``due_on`` (first, then last).
CLAIM_DAYS = (7, 2)
# A need waiting for review more than this many days, a delivery waiting for
# the civil-affairs visit (回访) more than this many: the moderators are told,
# on the first day it has waited longer whatever the hour it came in (a need
# submitted on the 1st, on the 5th).
REVIEW_DAYS = 3
FOLLOWUP_DAYS = 14


def day_start(day: date) -> datetime:
    """The UTC instant a China day begins, as timestamps are stored (naive UTC)."""
    start = datetime.combine(day, time(0), tzinfo=CHINA)
    return start.astimezone(UTC).replace(tzinfo=None)


@dataclass
class _Send:
    kind: str
    users: list[User]
    event: str
    params: dict[str, Any]
    url: str


@dataclass
class _Run:
    day: date
    batch: int
    on_batch: Callable[[], None]
    counts: Counter[str] = field(default_factory=Counter)
    _moderators: dict[tuple[str, int | None], list[User]] = field(default_factory=dict)
    _staff: dict[int, list[User]] = field(default_factory=dict)

    def moderators(self, region_code: str, exclude: int | None = None) -> list[User]:
        key = (region_code, exclude)
        if key not in self._moderators:
            self._moderators[key] = region_moderators(region_code, exclude=exclude)
        return self._moderators[key]

    def staff(self, org_id: int) -> list[User]:
        if org_id not in self._staff:
            self._staff[org_id] = org_users(org_id)
        return self._staff[org_id]

    def batches(self, stmt: Any, id_column: Any) -> Iterator[Sequence[Any]]:
        """Rows of ``stmt`` in batches, by ascending id (keyset: no OFFSET)."""
        last = 0
        while True:
            rows = db.session.execute(
                stmt.where(id_column > last).order_by(id_column).limit(self.batch)
            ).all()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def send(self, sends: list[_Send]) -> None:
        """Notify each send's recipients not yet told of its event; one SELECT
        for the batch first, so a run that finds everyone told writes nothing."""
        keys = {f"{s.kind}:{s.event}"[:120] for s in sends}
        told: set[tuple[int, str]] = set()
        if keys:
            rows = db.session.execute(
                select(Notification.user_id, Notification.event_key).where(
                    Notification.event_key.in_(keys)
                )
            )
            told = {(uid, key) for uid, key in rows}
        for s in sends:
            key = f"{s.kind}:{s.event}"[:120]
            users = [u for u in s.users if (u.id, key) not in told]
            if users:
                new = notify(s.kind, users, event=s.event, params=s.params, url=s.url)
                self.counts[s.kind] += len(new)
        self.on_batch()


def run_reminders(
    day: date | None = None,
    *,
    batch: int = BATCH,
    on_batch: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Send every reminder due on ``day`` (default: today in China). Returns
    the number of notifications created per kind. Flushes; ``on_batch`` (the
    CLI passes ``db.session.commit``) runs after each batch."""
    run = _Run(day or today(), max(1, batch), on_batch or (lambda: None))
    _claims_due(run)
    _projects(run)
    _needs_waiting(run)
    _followups_waiting(run)
    return {kind: run.counts.get(kind, 0) for kind in KINDS_SENT}


KINDS_SENT = (
    "claim_due_soon",
    "project_update_due",
    "project_update_overdue",
    "need_review_overdue",
    "followup_overdue",
)


def _claims_due(run: _Run) -> None:
    """``claim_due_soon`` to the claiming org's staff, 7 and 2 days before
    ``due_on``; from the 2-day mark only the 2-day reminder."""
    first, last = CLAIM_DAYS
    stmt = (
        select(Claim.id, Claim.org_id, Claim.due_on, Claim.created_at, Need.code)
        .join(Need, Need.id == Claim.need_id)
        .where(
            Claim.status == ClaimStatus.RESERVED,
            Claim.due_on >= run.day,
            Claim.due_on <= run.day + timedelta(days=first),
        )
    )
    for rows in run.batches(stmt, Claim.id):
        sends = []
        for claim_id, org_id, due_on, created_at, code in rows:
            days_left = (due_on - run.day).days
            mark = last if days_left <= last else first
            # The claim existed on the reminder's day (else the org just chose
            # this due date and needs no reminder of it yet).
            if to_china(created_at).date() >= due_on - timedelta(days=mark):
                continue
            sends.append(
                _Send(
                    "claim_due_soon",
                    run.staff(org_id),
                    f"claim:{claim_id}:due{mark}",
                    {"code": code, "due_on": due_on},
                    f"/org/claims/{claim_id}",
                )
            )
        run.send(sends)


def _projects(run: _Run) -> None:
    """Day 80 since the last progress update (or publication): ``project_update_due``
    to the org's staff; day 90: ``project_update_overdue`` to them; day 120: the
    same to the moderators of the org's region too."""
    stmt = (
        select(Project.id, Project.title, Project.org_id, Organization.name)
        .join(Organization, Organization.id == Project.org_id)
        .where(
            Project.status == ProjectStatus.PUBLISHED,
            # A suspended org cannot post updates: reminding it is noise (its
            # moderators already deal with it).
            Organization.status == OrgStatus.VERIFIED,
            # Last update on day - 80 or earlier (the SQL side of the rule).
            Project.disclosed_before(run.day - REMIND_AFTER + timedelta(days=1)),
        )
    )
    for rows in run.batches(stmt, Project.id):
        projects = {
            p.id: p
            for p in db.session.scalars(
                select(Project).where(Project.id.in_([r[0] for r in rows]))
            ).unique()
        }
        sends = []
        for project_id, title, org_id, org_name in rows:
            project = projects[project_id]
            last, due = project.last_disclosed_on, project.update_due_on
            if last is None or due is None:
                continue
            params = {"project": title, "org": org_name, "due_on": due}
            event = f"project:{project_id}:{last.isoformat()}"
            url = f"/org/projects/{project_id}"
            if run.day < due:  # days 80 to 89
                sends.append(
                    _Send("project_update_due", run.staff(org_id), event, params, url)
                )
                continue
            sends.append(
                _Send("project_update_overdue", run.staff(org_id), event, params, url)
            )
            if run.day >= last + ESCALATE_AFTER:
                moderators = run.moderators(project.org.region_code)
                sends.append(
                    _Send(
                        "project_update_overdue",
                        moderators,
                        f"{event}:moderators",
                        params,
                        f"/mod/projects/{project_id}",
                    )
                )
        run.send(sends)


def _needs_waiting(run: _Run) -> None:
    """``need_review_overdue``: submitted more than 3 days ago and not reviewed,
    to the need region's moderators except the one who entered it (who may not
    approve it). Once per submission."""
    stmt = select(
        Need.id, Need.code, Need.region_code, Need.entered_by_id, Need.submitted_at
    ).where(
        Need.status == NeedStatus.SUBMITTED,
        Need.submitted_at < day_start(run.day - timedelta(days=REVIEW_DAYS)),
    )
    for rows in run.batches(stmt, Need.id):
        sends = []
        for need_id, code, region_code, entered_by_id, submitted_at in rows:
            submitted_on = to_china(submitted_at).date()
            sends.append(
                _Send(
                    "need_review_overdue",
                    run.moderators(region_code, exclude=entered_by_id),
                    f"need:{need_id}:review:{submitted_on.isoformat()}",
                    {"code": code, "submitted_on": submitted_on},
                    f"/mod/needs/{code}",
                )
            )
        run.send(sends)


def _followups_waiting(run: _Run) -> None:
    """``followup_overdue``: a delivery reported more than 14 days ago and not
    yet confirmed by the civil-affairs visit, to the need region's moderators."""
    stmt = (
        select(Claim.id, Need.code, Need.region_code, Claim.delivered_at)
        .join(Need, Need.id == Claim.need_id)
        .where(
            Claim.status == ClaimStatus.DELIVERED,
            Claim.delivered_at < day_start(run.day - timedelta(days=FOLLOWUP_DAYS)),
        )
    )
    for rows in run.batches(stmt, Claim.id):
        sends = []
        for claim_id, code, region_code, delivered_at in rows:
            delivered_on = to_china(delivered_at).date()
            sends.append(
                _Send(
                    "followup_overdue",
                    run.moderators(region_code),
                    f"claim:{claim_id}:followup:{delivered_on.isoformat()}",
                    {"code": code, "delivered_on": delivered_on},
                    f"/mod/claims/{claim_id}/confirm",
                )
            )
        run.send(sends)
