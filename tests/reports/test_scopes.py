"""The scope rows (reports/summary.py) give an all-time cut exactly the
figures the cells give: every all-time reader is compared with the same reader
over a period that covers every day (which reads the cells), for every region
level; and a household's counts move only on its 0 <-> 1 transitions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text

from charitylink.extensions import db
from charitylink.reports import figures, summary
from charitylink.reports.queries import Filters

EVER = {"date_from": date(2000, 1, 1), "date_to": date(2100, 12, 31)}


def _cuts() -> list[tuple[str | None, str]]:
    return [
        (None, "province"),
        (None, "county"),
        ("22", "city"),
        ("22", "province"),
        ("2201", "county"),
        ("220102", "county"),
        ("220102", "city"),
        ("99", "city"),  # nothing there
    ]


def test_all_time_cuts_equal_the_cells(app, seeded):  # type: ignore[no-untyped-def]
    for prefix, level in _cuts():
        now, ever = Filters(prefix, level=level), Filters(prefix, level=level, **EVER)
        assert figures._scope(now) is not None and figures._scope(ever) is None
        assert figures.totals(now) == figures.totals(ever), prefix
        for public in (False, True):
            assert figures.by_region(now, public=public) == figures.by_region(
                ever, public=public
            ), (prefix, level, public)
        levels = ("province", "city", "county")
        assert figures.by_region_levels(now, levels, True) == (
            figures.by_region_levels(ever, levels, True)
        )
        assert figures.delivered_by_month(now) == figures.delivered_by_month(ever)
        assert figures.assistance_link(now) == figures.assistance_link(ever)
        assert figures.time_to_full_claim(now) == figures.time_to_full_claim(ever)
        assert figures.matrix_and_months(now)[1] == figures.matrix_and_months(ever)[1]
    everywhere, ever = Filters(), Filters(**EVER)
    assert figures.by_need_type(everywhere) == figures.by_need_type(ever)
    assert figures.published_by_month(everywhere) == figures.published_by_month(ever)
    # Without a period the matrix also counts needs never published.
    matrix = figures.matrix_and_months(everywhere)[0]
    published = figures.matrix_and_months(ever)[0]
    assert [
        r for r in matrix if r["status"] not in ("draft", "submitted", "rejected")
    ] == [r for r in published if r["status"] not in ("draft", "submitted", "rejected")]


def test_a_household_counts_once_however_many_needs(app, seeded):  # type: ignore[no-untyped-def]
    """Moving a household's needs one by one to another household moves the
    counts only when the first arrives and the last leaves."""
    from charitylink.needs.models import Need

    s = summary.SCOPE_SUMS.c

    def households() -> int:
        return int(
            db.session.scalar(
                select(s.households).where(
                    s.basis == "r", s.depth == 0, s.facet == "", s.code == ""
                )
            )
            or 0
        )

    start = households()
    mine = list(
        db.session.scalars(
            select(Need)
            .where(Need.published_at.is_not(None))
            .order_by(Need.household_key, Need.id)
        )
    )
    by_key: dict[str, list[Need]] = {}
    for n in mine:
        by_key.setdefault(n.household_key, []).append(n)
    same = max(by_key.values(), key=len)
    assert len(same) >= 2, "the seed gives some household two needs"
    for i, need in enumerate(same):
        need.household_key = "scope-test-household"
        db.session.commit()
        # The new household appears with the first need, the old one goes
        # with the last.
        assert households() == start + (1 if i < len(same) - 1 else 0)
    assert summary.verify() == []


def test_a_planted_scope_difference_is_found(app, seeded):  # type: ignore[no-untyped-def]
    db.session.execute(
        text(
            "UPDATE report_scope_sums SET households = households + 1"
            " WHERE basis = 'r' AND depth = 2 AND facet = ''"
        )
    )
    db.session.commit()
    problems = summary.verify()
    assert problems and all("report_scope_sums" in p for p in problems)
    summary.rebuild()
    assert summary.verify() == []


def test_assistance_changes_keep_the_largest_amounts(app, seeded):  # type: ignore[no-untyped-def]
    """The largest monthly amount of a type is not a sum: raising, lowering
    and removing a need's entries keeps the all-time figures equal to the
    cells'."""
    from charitylink.needs.models import Need

    need = db.session.scalar(
        select(Need)
        .where(Need.published_at.is_not(None), Need.region_code.startswith("2201"))
        .order_by(Need.id)
    )
    ever = Filters(**EVER)
    for entries in (
        [{"type": "dibao", "monthly_amount": 999_999}],
        [{"type": "dibao", "monthly_amount": 1}, {"type": "medical"}],
        [],
    ):
        need.gov_assistance = entries
        db.session.commit()
        assert summary.verify() == []
        assert figures.assistance_link(Filters()) == figures.assistance_link(ever)
        for prefix in ("22", "2201", need.region_code[:6]):
            assert figures.assistance_link(Filters(prefix)) == (
                figures.assistance_link(Filters(prefix, **EVER))
            )


PERIODS = [
    (date(2026, 3, 1), date(2026, 6, 30)),  # whole months
    (date(2026, 3, 14), date(2026, 5, 2)),  # cuts two months
    (date(2026, 4, 5), date(2026, 4, 20)),  # inside one month
    (date(2026, 4, 7), date(2026, 4, 7)),  # one day
    (None, date(2026, 4, 10)),
    (date(2026, 2, 20), None),
    (date(2026, 6, 1), date(2026, 5, 1)),  # empty
    (date(2000, 1, 1), date(2100, 12, 31)),
]


def _with_cells(monkeypatch, fn):  # type: ignore[no-untyped-def]
    """``fn()`` as the cells give it (the day rows set aside)."""
    with monkeypatch.context() as m:
        m.setattr(figures, "DAY_ROWS", False)
        return fn()


def _same_periods(monkeypatch, cuts, periods=PERIODS):  # type: ignore[no-untyped-def]
    for prefix, level in cuts:
        for lo, hi in periods:
            f = Filters(prefix, level=level, date_from=lo, date_to=hi)
            assert figures._period_scope(f) is not None
            for fn in (
                figures.totals,
                figures.by_region,
                figures.matrix_and_months,
                figures.time_to_full_claim,
                figures.assistance_link,
            ):
                want = _with_cells(monkeypatch, lambda fn=fn, f=f: fn(f))
                assert fn(f) == want, (fn.__name__, prefix, level, lo, hi)


def test_period_cuts_equal_the_cells(app, seeded, monkeypatch):  # type: ignore[no-untyped-def]
    """A cut with a period adds up its days' rows and counts households from
    each household's chain of days: exactly the figures of the cells."""
    _same_periods(monkeypatch, _cuts())


def test_a_households_days_move_its_chain(app, seeded, monkeypatch):  # type: ignore[no-untyped-def]
    """Moving a household's needs between days, regions and households, and
    reaching them or not, keeps every period's households exact."""
    from datetime import datetime, timedelta

    from charitylink.needs.models import Need

    mine = list(
        db.session.scalars(
            select(Need)
            .where(Need.published_at.is_not(None))
            .order_by(Need.household_key, Need.id)
        )
    )
    by_key: dict[str, list[Need]] = {}
    for n in mine:
        by_key.setdefault(n.household_key, []).append(n)
    same = max(by_key.values(), key=len)
    assert len(same) >= 2
    first, second = same[0], same[1]
    cuts = [(None, "province"), (first.region_code[:4], "county")]
    periods = [PERIODS[1], PERIODS[4], PERIODS[5]]
    steps = [
        # Both on one China day (20:00 UTC is the next day in China).
        lambda: (
            setattr(first, "published_at", datetime(2026, 4, 6, 20)),
            setattr(second, "published_at", datetime(2026, 4, 7, 3)),
        ),
        lambda: setattr(second, "delivered_fen", (second.delivered_fen or 0) + 100),
        lambda: setattr(first, "published_at", datetime(2026, 3, 14, 1)),
        lambda: setattr(first, "region_code", second.region_code),
        lambda: setattr(second, "household_key", "chain-test-household"),
        lambda: setattr(
            second, "published_at", second.published_at - timedelta(days=40)
        ),
        lambda: (
            setattr(
                first, "gov_assistance", [{"type": "dibao", "monthly_amount": 500}]
            ),
            setattr(
                second,
                "gov_assistance",
                [{"type": "dibao", "monthly_amount": 900}, {"type": "medical"}],
            ),
        ),
        lambda: (
            setattr(first, "delivered_fen", (first.delivered_fen or 0) + 7),
            setattr(
                first, "gov_assistance", [{"type": "dibao", "monthly_amount": 900}]
            ),
        ),
        lambda: (
            setattr(second, "gov_assistance", []),
            setattr(second, "delivered_fen", 0),
        ),
        lambda: setattr(second, "household_key", first.household_key),
    ]
    for step in steps:
        step()
        db.session.commit()
        assert summary.verify() == []
        _same_periods(monkeypatch, cuts, periods)
