"""``flask --app wsgi remind``: each reminder on its day, to exactly its
recipients, once; the 120-day escalation; batches; the command line."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from charitylink.extensions import db
from charitylink.mail.models import OutboxMail
from charitylink.notifications.kinds import render
from charitylink.notifications.models import Notification
from charitylink.orgs.models import OrgStatus
from charitylink.projects.models import ProjectStatus
from tests.reminders.conftest import D0, at, days_told, run_on, told


def _n(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_claim_due_soon_7_and_2_days_before_to_the_org_staff(rworld, make_claim):
    due = D0 + timedelta(days=20)
    claim = make_claim(due_on=due, created=D0)
    staff = {rworld["admin_a"].id, rworld["member_a"].id}
    got = days_told(D0, due + timedelta(days=2), "claim_due_soon")
    assert got == {
        due - timedelta(days=7): {f"claim_due_soon:claim:{claim.id}:due7": staff},
        due - timedelta(days=2): {f"claim_due_soon:claim:{claim.id}:due2": staff},
    }
    (row, *_) = db.session.scalars(
        select(Notification).where(Notification.kind == "claim_due_soon")
    )
    assert row.params == {"code": claim.need.code, "due_on": due.isoformat()}
    assert row.url == f"/org/claims/{claim.id}"


def test_claim_made_inside_the_week_gets_only_the_last_reminder(rworld, make_claim):
    due = D0 + timedelta(days=5)
    claim = make_claim(due_on=due, created=D0)
    got = days_told(D0, due, "claim_due_soon")
    assert list(got) == [due - timedelta(days=2)]
    assert list(got[due - timedelta(days=2)]) == [
        f"claim_due_soon:claim:{claim.id}:due2"
    ]


def test_a_missed_day_is_caught_up_once(rworld, make_claim):
    due = D0 + timedelta(days=20)
    claim = make_claim(due_on=due, created=D0)
    # cron down on day -7: the next run, day -6, sends the 7-day reminder.
    run_on(due - timedelta(days=6))
    assert set(told("claim_due_soon")) == {f"claim_due_soon:claim:{claim.id}:due7"}
    run_on(due - timedelta(days=5))
    assert len(told("claim_due_soon")) == 1


def test_claims_not_reserved_are_not_reminded(rworld, make_claim):
    due = D0 + timedelta(days=7)
    make_claim(due_on=due, created=D0, status="delivered", delivered_at=at(D0))
    make_claim(due_on=due, created=D0, status="cancelled")
    run_on(D0)
    assert told("claim_due_soon") == {}


def test_project_update_due_overdue_and_escalation(rworld, create_project):
    last = D0
    project = create_project(
        fund=rworld["fund_a"], published_at=at(last - timedelta(days=200))
    )
    project.last_progress_at = at(last, hour=23)  # late evening: still that day
    db.session.commit()
    staff = {rworld["admin_a"].id, rworld["member_a"].id}
    moderators = {rworld["mod_22"].id, rworld["mod_2201"].id}
    event = f"project:{project.id}:{last.isoformat()}"
    got = days_told(last, last + timedelta(days=130))
    assert got == {
        last + timedelta(days=80): {f"project_update_due:{event}": staff},
        last + timedelta(days=90): {f"project_update_overdue:{event}": staff},
        last + timedelta(days=120): {
            f"project_update_overdue:{event}:moderators": moderators
        },
    }
    row = db.session.scalars(
        select(Notification).where(Notification.kind == "project_update_due")
    ).first()
    assert row is not None
    assert row.params["due_on"] == (last + timedelta(days=90)).isoformat()
    assert row.params["project"] == project.title
    escalated = db.session.scalars(
        select(Notification).where(Notification.event_key.endswith(":moderators"))
    ).first()
    assert escalated is not None
    _title, body = render(escalated.kind, escalated.params)
    assert rworld["org_a"].name in body and project.title in body  # whom to chase


def test_a_new_update_starts_the_next_cycle(rworld, create_project):
    project = create_project(fund=rworld["fund_a"])
    project.published_at = at(D0)
    project.last_progress_at = None
    db.session.commit()
    run_on(D0 + timedelta(days=80))  # counted from publication
    assert len(told("project_update_due")) == 1
    later = D0 + timedelta(days=85)
    project.last_progress_at = at(later)
    db.session.commit()
    run_on(later + timedelta(days=79))
    assert len(told("project_update_due")) == 1
    run_on(later + timedelta(days=80))
    keys = set(told("project_update_due"))
    assert f"project_update_due:project:{project.id}:{later.isoformat()}" in keys
    assert len(keys) == 2


def test_closed_and_draft_projects_are_not_reminded(
    rworld, create_project, create_org, create_fund
):
    for status in (ProjectStatus.CLOSED, ProjectStatus.DRAFT):
        p = create_project(fund=rworld["fund_a"], status=status)
        p.published_at = at(D0)
    suspended = create_org(region_code="220102", status=OrgStatus.SUSPENDED)
    p = create_project(fund=create_fund(org=suspended))
    p.published_at = at(D0)
    db.session.commit()
    run_on(D0 + timedelta(days=125))
    assert told() == {}


def test_need_waiting_for_review_more_than_3_days(rworld, create_need):
    need = create_need(status="submitted", entered_by=rworld["mod_2201"])
    need.submitted_at = at(D0, hour=9)
    db.session.commit()
    got = days_told(D0, D0 + timedelta(days=10), "need_review_overdue")
    # To the region's moderators but the one who entered it (four eyes).
    assert got == {
        D0 + timedelta(days=4): {
            f"need_review_overdue:need:{need.id}:review:{D0.isoformat()}": {
                rworld["mod_22"].id
            }
        }
    }


def test_delivery_waiting_for_followup_more_than_14_days(rworld, make_claim):
    claim = make_claim(
        due_on=D0 + timedelta(days=30),
        created=D0 - timedelta(days=10),
        status="delivered",
        delivered_at=at(D0),
        delivered_fen=100_000,
        delivered_on=D0,
    )
    got = days_told(D0, D0 + timedelta(days=20), "followup_overdue")
    assert got == {
        D0 + timedelta(days=15): {
            f"followup_overdue:claim:{claim.id}:followup:{D0.isoformat()}": {
                rworld["mod_22"].id,
                rworld["mod_2201"].id,
            }
        }
    }


def test_running_twice_tells_nobody_twice(
    rworld, make_claim, create_project, create_need
):
    make_claim(due_on=D0 + timedelta(days=7), created=D0 - timedelta(days=30))
    project = create_project(fund=rworld["fund_a"])
    project.published_at = at(D0 - timedelta(days=125))
    need = create_need(status="submitted", entered_by=rworld["mod_22"])
    need.submitted_at = at(D0 - timedelta(days=5))
    db.session.commit()
    first = run_on(D0)
    notes, mails = _n(Notification), _n(OutboxMail)
    assert all(first[k] for k in ("claim_due_soon", "project_update_overdue"))
    assert first["need_review_overdue"] == 1
    second = run_on(D0)
    assert set(second.values()) == {0}
    assert (_n(Notification), _n(OutboxMail)) == (notes, mails)


def test_batches_cover_every_row(rworld, make_claim):
    claims = [
        make_claim(due_on=D0 + timedelta(days=7), created=D0 - timedelta(days=30))
        for _ in range(5)
    ]
    commits: list[int] = []
    counts = run_on(D0, batch=2, on_batch=lambda: commits.append(1))
    assert counts["claim_due_soon"] == 5 * 2  # admin and member of org A
    assert set(told("claim_due_soon")) == {
        f"claim_due_soon:claim:{c.id}:due7" for c in claims
    }
    assert len(commits) >= 3  # 2 + 2 + 1 claims, each batch committed


def test_remind_cli_prints_counts_and_is_idempotent(rworld, make_claim, runner):
    make_claim(due_on=D0 + timedelta(days=2), created=D0 - timedelta(days=30))
    first = runner.invoke(args=["remind", "--on", D0.isoformat()])
    assert first.exit_code == 0, first.output
    assert "认领即将到期 2 条" in first.output
    second = runner.invoke(args=["remind", "--on", D0.isoformat(), "--batch", "1"])
    assert "认领即将到期 0 条" in second.output
    bad = runner.invoke(args=["remind", "--on", "明天"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_no_private_half_in_reminders(rworld, create_need):
    need = create_need(
        status="submitted",
        entered_by=rworld["mod_22"],
        household={"name": "隐私张三", "phone": "13912345678", "address": "幸福路8号"},
    )
    need.submitted_at = at(D0 - timedelta(days=5))
    db.session.commit()
    run_on(D0)
    texts = [
        str(n.params) + n.url for n in db.session.scalars(select(Notification))
    ] + [m.subject + m.text_body for m in db.session.scalars(select(OutboxMail))]
    assert texts
    for secret in ("隐私张三", "13912345678", "幸福路8号"):
        assert not any(secret in t for t in texts)


def test_the_demo_has_its_reminders_on_the_seeding_day(app):
    from charitylink.accounts.models import User
    from charitylink.seeding import demo

    demo.load_demo(needs_count=60)
    rows = list(db.session.scalars(select(Notification)))
    kinds = {n.kind for n in rows}
    assert "project_update_overdue" in kinds
    overdue = [n for n in rows if n.kind == "project_update_overdue"]
    assert {n.params["project"] for n in overdue} == {"大病医疗“救急难”行动"}
    roles = {db.session.get(User, n.user_id).role for n in overdue}
    assert roles >= {"org_admin", "moderator"}  # day 120: the moderators too
    # Running the job on the same day again adds nothing.
    assert set(run_on(demo.today()).values()) == {0}
