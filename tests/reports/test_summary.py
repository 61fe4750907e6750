"""The summary tables (reports/summary.py) never disagree with the needs and
claims: the claim state machine checks ``verify()`` after every step, on
whichever database the suite runs; ``verify`` finds a planted difference and
``rebuild`` repairs it; the two commands answer as documented."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test
from sqlalchemy import text

from charitylink.extensions import db
from charitylink.reports import summary
from tests.claims.test_state_machine import ClaimLoop


class ClaimLoopWithSummary(ClaimLoop):
    @invariant()
    def summary_tables_agree_with_the_rows(self) -> None:
        assert summary.verify() == []


def test_every_step_of_the_claim_loop_keeps_the_summary_exact(
    app, create_org, create_fund, create_need, create_user
):  # type: ignore[no-untyped-def]
    ClaimLoopWithSummary.factories = {
        "create_org": create_org,
        "create_fund": create_fund,
        "create_need": create_need,
        "create_user": create_user,
    }
    run_state_machine_as_test(
        ClaimLoopWithSummary,
        settings=settings(
            max_examples=6,
            stateful_step_count=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_verify_finds_a_planted_difference_and_rebuild_repairs_it(app, seeded):  # type: ignore[no-untyped-def]
    assert summary.verify() == []
    # A counter off by one, and a change made around the session (raw SQL).
    db.session.execute(
        text(
            "UPDATE report_need_cells SET needs = needs + 1 WHERE region = '220102'"
            " AND grain = 'm'"
        )
    )
    db.session.execute(
        text("UPDATE needs SET amount_fen = amount_fen + 100 WHERE id = 1")
    )
    db.session.commit()
    problems = summary.verify()
    assert problems and all("report_need_cells" in p for p in problems[:1])
    assert any("220102" in p for p in problems)
    summary.rebuild()
    assert summary.verify() == []


def test_a_stray_row_is_a_difference(app, seeded):  # type: ignore[no-untyped-def]
    db.session.execute(
        text(
            "INSERT INTO report_delivery_cells"
            " (grain, span, region, household_key, deliveries, delivered)"
            " VALUES ('m', '2026-01', '990101', 'nobody', 1, 100)"
        )
    )
    db.session.commit()
    problems = summary.verify()
    assert len(problems) == 1 and "990101" in problems[0]


def test_the_commands(app, seeded, runner):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["reports", "verify"])
    assert result.exit_code == 0, result.output
    assert "一致" in result.output
    db.session.execute(text("DELETE FROM report_org_households"))
    db.session.commit()
    result = runner.invoke(args=["reports", "verify"])
    assert result.exit_code == 1
    assert "report_org_households" in result.output
    result = runner.invoke(args=["reports", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "已重算" in result.output
    assert runner.invoke(args=["reports", "verify"]).exit_code == 0


def test_bulk_inserts_through_the_session_are_counted(app, create_user, create_fund):  # type: ignore[no-untyped-def]
    """As the seed inserts needs (``insert(Need)`` with rows without ids) and
    then coarsens the public regions with a bulk UPDATE by county."""
    from datetime import UTC, date, datetime

    from sqlalchemy import insert, select

    from charitylink.claims.models import Claim
    from charitylink.needs.models import Need
    from charitylink.needs.privacy import recompute_all_public_regions

    mod = create_user("moderator", region_prefix="22")
    fund = create_fund()
    db.session.commit()
    rows = [
        {
            "code": f"XQ-22-{900000 + i:06d}",
            "title": "测试",
            "category": "tekun",
            "need_type": "living",
            "region_code": "220104" if i % 3 else "220102",
            "public_region_code": "220104",
            "age_band": "70–79",
            "household_size": 1,
            "gov_assistance": [{"type": "dibao", "monthly_amount": 100 * i}],
            "amount_fen": 50_000,
            "claimed_fen": 0,
            "delivered_fen": 0,
            "status": "published",
            "private_ciphertext": "x",
            "household_key": f"bulk{i % 4}",
            "entered_by_id": mod.id,
            "published_at": datetime(2026, 3, 1 + i, 20, 0, tzinfo=UTC),
        }
        for i in range(9)
    ]
    db.session.execute(insert(Need), rows)
    db.session.commit()
    assert summary.verify() == []
    need_ids = list(db.session.scalars(select(Need.id).order_by(Need.id)))
    db.session.execute(
        insert(Claim),
        [
            {
                "need_id": need_ids[0],
                "org_id": fund.org_id,
                "fund_id": fund.id,
                "amount_fen": 10_000,
                "status": "delivered",
                "due_on": date(2026, 4, 1),
                "delivered_fen": 10_000,
                "delivered_on": date(2026, 3, 20),
            }
        ],
    )
    db.session.commit()
    recompute_all_public_regions()
    db.session.commit()
    assert summary.verify() == []
