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
