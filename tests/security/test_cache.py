"""The home page's cached figures follow the data (core/cache.py)."""

from __future__ import annotations

import re

from charitylink.extensions import db


def _figures(client) -> str:  # type: ignore[no-untyped-def]
    html = client.get("/").get_data(as_text=True)
    return re.sub(r"\s+", " ", html)


def test_home_figures_are_cached_and_dropped_when_a_fund_changes(
    app, client, create_fund
):
    from charitylink.core import cache
    from charitylink.funds import ledger

    fund = create_fund(donations_fen=123_400)
    before = _figures(client)
    assert "1,234" in before

    calls = []
    real = cache.get_or_set

    def spy(key, compute, ttl=None):  # type: ignore[no-untyped-def]
        return real(key, lambda: calls.append(key) or compute(), ttl)

    cache.get_or_set = spy
    try:
        client.get("/")
        assert calls == []  # served from the cache
        ledger.add_donation(fund, 1_000_000, donor_name="新的捐赠人")
        db.session.commit()
        after = _figures(client)
        assert calls == ["home.figures"]  # the commit dropped it
    finally:
        cache.get_or_set = real
    assert "11,234" in after


def test_bulk_statement_on_a_watched_table_drops_the_cache(app, client, create_org):
    from sqlalchemy import update

    from charitylink.orgs.models import Organization, OrgStatus

    org = create_org()
    client.get("/")
    stamp_before = _stamp(app)
    db.session.execute(
        update(Organization)
        .where(Organization.id == org.id)
        .values(status=OrgStatus.SUSPENDED)
    )
    db.session.commit()
    assert _stamp(app) != stamp_before


def test_commit_without_watched_change_keeps_the_cache(app, client, create_user):
    client.get("/")
    stamp_before = _stamp(app)
    create_user("admin")
    assert _stamp(app) == stamp_before


def _stamp(app) -> int:  # type: ignore[no-untyped-def]
    from charitylink.core import cache

    with app.app_context():
        return cache._stamp()


def test_the_figure_cache_is_bounded(app, client):
    from charitylink.core import cache

    with app.app_context():
        for i in range(cache.MAX_ENTRIES + 10):
            cache.get_or_set(f"t|{i}", lambda i=i: i)
        assert len(cache._store) <= cache.MAX_ENTRIES
        assert cache.get_or_set(f"t|{cache.MAX_ENTRIES + 9}", lambda: -1) != -1
