"""Offer text search through the needs' engine (Whoosh on SQLite, PostgreSQL
full-text search on PostgreSQL): jieba words, ranked, kept in step with
create, edit, pause, close and an org's suspension, restored by a rebuild."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import delete

from charitylink.extensions import db
from charitylink.offers import services
from charitylink.orgs.services import suspend_org
from charitylink.search import indexer
from charitylink.search.analysis import query_tokens
from charitylink.search.backend import get_backend
from charitylink.search.documents import OFFER
from charitylink.search.models import SearchOutbox


def _index_now() -> None:
    db.session.commit()
    indexer.drain_all()


def _api_titles(client, q: str, **filters: str) -> list[str]:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/offers", query_string={"q": q, **filters})
    assert resp.status_code == 200, resp.json
    return [o["title"] for o in resp.json["items"]]


def _page(client, q: str) -> str:  # type: ignore[no-untyped-def]
    resp = client.get("/offers", query_string={"q": q})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_offer_search_follows_the_offer(world, client, create_offer) -> None:  # type: ignore[no-untyped-def]
    indexer.rebuild()  # an index exists (Whoosh): answers come from the engine
    meal = create_offer(
        world["org_a"], title="社区关爱", description="为高龄老人提供助餐服务"
    )
    other = create_offer(
        world["org_b"], title="助餐志愿者招募", kind="volunteer", region_prefix="62"
    )
    create_offer(world["org_a"], title="冬衣发放", description="棉衣棉被", kind="goods")
    _index_now()
    assert "助餐" in query_tokens("助餐")

    # A word of the description finds it (jieba: 助餐 inside 提供助餐服务);
    # the title match ranks first.
    assert _api_titles(client, "助餐") == ["助餐志愿者招募", "社区关爱"]
    assert "社区关爱" in _page(client, "助餐")
    assert "冬衣发放" not in _page(client, "助餐")
    # The public filters still apply to the matches.
    assert _api_titles(client, "助餐", kind="service") == ["社区关爱"]
    assert _api_titles(client, "助餐", region="620102") == ["助餐志愿者招募"]
    # The org's name and the kind label are searchable text too.
    assert "冬衣发放" in _api_titles(client, "物资")

    # Edit: found by the new word, no longer by the old one.
    meal.description = "为独居老人提供理发服务"
    _index_now()
    assert _api_titles(client, "理发") == ["社区关爱"]
    assert _api_titles(client, "助餐") == ["助餐志愿者招募"]

    # Pause and close: out of the list and out of the index.
    services.pause_offer(meal, world["admin_a"])
    _index_now()
    assert _api_titles(client, "理发") == []
    assert "社区关爱" not in _page(client, "理发")
    assert get_backend().match(db.session(), OFFER, ["理发"]) == []
    services.reopen_offer(meal, world["admin_a"])
    _index_now()
    assert _api_titles(client, "理发") == ["社区关爱"]
    services.close_offer(meal, world["admin_a"])
    _index_now()
    assert get_backend().match(db.session(), OFFER, ["理发"]) == []

    # An org suspended: its offers leave the index.
    suspend_org(world["org_b"], world["mod_out"], "资质问题，暂停活动。")
    _index_now()
    assert _api_titles(client, "助餐") == []
    assert get_backend().match(db.session(), OFFER, ["助餐"]) == []
    assert other.id not in [
        i for i, _s in get_backend().match(db.session(), OFFER, ["志愿者"])
    ]


def test_rebuild_restores_the_offers(world, client, create_offer, runner) -> None:  # type: ignore[no-untyped-def]
    kept = create_offer(
        world["org_a"], title="社区关爱", description="为高龄老人提供助餐服务"
    )
    create_offer(world["org_a"], title="已暂停", description="助餐", status="paused")
    _index_now()
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert [i for i, _s in get_backend().match(db.session(), OFFER, ["助餐"])] == [
        kept.id
    ]
    assert _api_titles(client, "助餐") == ["社区关爱"]
    # The needs' search is not disturbed by offer documents.
    from charitylink.search.service import search_needs

    assert search_needs("助餐").total == 0


def test_migration_queues_the_open_offers(world, client, create_offer) -> None:  # type: ignore[no-untyped-def]
    """An index built before offers were indexed picks them up through the
    outbox rows the migration queues."""
    path = (
        Path(__file__).resolve().parents[2]
        / "platform/charitylink/migrations/versions/20261206_0018_offer_search.py"
    )
    spec = importlib.util.spec_from_file_location("m0018", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    offer = create_offer(world["org_a"], title="社区关爱", description="提供助餐服务")
    create_offer(world["org_a"], title="已关闭", description="助餐", status="closed")
    db.session.execute(delete(SearchOutbox))
    db.session.commit()
    indexer.rebuild()
    backend = get_backend()
    session = db.session()
    # Take the offer out of the index as if it predated offer search.
    backend.apply(session, [(OFFER, offer.id, None)])
    db.session.commit()
    assert backend.match(db.session(), OFFER, ["助餐"]) == []
    module.queue_offers(db.session.connection())
    _index_now()
    assert [i for i, _s in backend.match(db.session(), OFFER, ["助餐"])] == [offer.id]
