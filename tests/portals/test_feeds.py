"""The Atom feeds as a feed reader sees them (feedparser): valid Atom 1.0, the
public list's filters, ids that never change, ``updated`` that follows the
object, and conditional GET (ETag, 304) on the feeds and the public API."""

from __future__ import annotations

from typing import Any

import feedparser
import pytest

from charitylink.extensions import db


def _feed(client: Any, url: str) -> Any:
    resp = client.get(url)
    assert resp.status_code == 200, url
    assert resp.content_type.startswith("application/atom+xml")
    parsed = feedparser.parse(resp.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_needs_feed_is_atom_with_public_needs_only(client, create_need):
    shown = create_need(status="published", title="独居老人冬季取暖费用")
    claimed = create_need(status="fully_claimed", need_type="education")
    hidden = [
        create_need(status=s) for s in ("draft", "submitted", "withdrawn", "expired")
    ]
    feed = _feed(client, "/feeds/needs.atom")
    assert feed.feed.id.startswith("tag:localhost,2026:")
    assert feed.feed.updated
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"] == "http://localhost:5000/feeds/needs.atom"
    assert links["alternate"] == "http://localhost:5000/needs"
    ids = {e.id: e for e in feed.entries}
    assert set(ids) == {
        f"tag:localhost,2026:need/{shown.code}",
        f"tag:localhost,2026:need/{claimed.code}",
    }
    entry = ids[f"tag:localhost,2026:need/{shown.code}"]
    assert entry.title == "独居老人冬季取暖费用"
    assert entry.link == f"http://localhost:5000/needs/{shown.code}"
    assert entry.updated and entry.published
    text = client.get("/feeds/needs.atom").get_data(as_text=True)
    for need in hidden:
        assert need.code not in text
    # English labels with ?lang=en, the same ids.
    english = _feed(client, "/feeds/needs.atom?lang=en")
    assert english.feed.language == "en"
    assert {e.id for e in english.entries} == set(ids)


def test_feed_filters_are_the_lists_filters(
    client, create_need, create_project, create_org, create_fund, create_user
):
    medical = create_need(status="published", need_type="medical", amount_fen=200_000)
    school = create_need(status="published", need_type="education", amount_fen=900_000)
    far = create_need(
        status="published",
        need_type="education",
        region_code="620102",
        entered_by=create_user("moderator", region_prefix="62"),
    )

    def codes(query: str) -> set[str]:
        return {
            e.link.rsplit("/", 1)[1]
            for e in _feed(client, "/feeds/needs.atom" + query).entries
        }

    assert codes("?need_type=education") == {school.code, far.code}
    assert codes("?region=22") == {medical.code, school.code}
    assert codes("?min_amount=6000") == {school.code}  # yuan, as on the list
    assert codes("?need_type=bogus") == {medical.code, school.code, far.code}
    assert (
        len(_feed(client, "/feeds/needs.atom?per_page=1&sort=amount_desc").entries) == 1
    )

    org = create_org()
    mine = create_project(fund=create_fund(org=org), title="甲项目")
    other = create_project(title="乙项目", need_types=["medical"])
    create_project(title="草稿项目", status="draft")
    projects = _feed(client, "/feeds/projects.atom")
    assert {e.title for e in projects.entries} == {"甲项目", "乙项目"}
    only = _feed(client, f"/feeds/projects.atom?org_id={org.id}")
    assert [e.id for e in only.entries] == [f"tag:localhost,2026:project/{mine.id}"]
    assert only.entries[0].author == org.name
    by_type = _feed(client, "/feeds/projects.atom?need_type=medical")
    assert [e.title for e in by_type.entries] == [other.title]


def test_ids_stay_and_updated_follows_the_object(client, create_need, create_user):
    from charitylink.needs import services

    need = create_need(status="published")
    create_need(status="published")
    first = {e.id: e.updated for e in _feed(client, "/feeds/needs.atom").entries}
    again = {e.id: e.updated for e in _feed(client, "/feeds/needs.atom").entries}
    assert first == again  # nothing changed: same ids, same times
    key = f"tag:localhost,2026:need/{need.code}"

    need.claimed_fen = 100_000  # a claim moved the figures
    db.session.commit()
    moved = {e.id: e.updated for e in _feed(client, "/feeds/needs.atom").entries}
    assert set(moved) == set(first)
    assert moved[key] > first[key]
    assert [v for k, v in moved.items() if k != key] == [
        v for k, v in first.items() if k != key
    ]

    need.claimed_fen = 0
    db.session.commit()
    services.withdraw_need(need, create_user("moderator"), "家庭情况已改善")
    db.session.commit()
    assert key not in {e.id for e in _feed(client, "/feeds/needs.atom").entries}


@pytest.mark.parametrize(
    "url",
    ["/feeds/needs.atom", "/feeds/projects.atom", "/api/v1/needs", "/api/v1/projects"],
)
def test_etag_round_trip(client, create_need, create_project, url):
    need = create_need(status="published")
    create_project()
    first = client.get(url)
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    need.title = "标题改过了的需求"
    need.claimed_fen = 1
    db.session.commit()
    if "projects" in url:
        from charitylink.projects.models import Project

        project = db.session.scalars(db.select(Project)).first()
        project.summary = "摘要改过了"
        db.session.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_single_objects_of_the_api_answer_304(client, create_need, create_project):
    need = create_need(status="published")
    project = create_project()
    for url in (
        f"/api/v1/needs/{need.code}",
        f"/api/v1/projects/{project.id}",
        f"/api/v1/orgs/{project.org_id}",
        f"/api/v1/funds/{project.fund_id}",
        "/api/v1/stats",
        "/sitemap.xml",
    ):
        etag = client.get(url).headers["ETag"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304, url


@pytest.fixture
def cached_app(app_config: dict[str, Any]):  # type: ignore[no-untyped-def]
    from charitylink import create_app

    return create_app({**app_config, "PAGE_CACHE_TTL": 60})


def test_a_cached_feed_answers_304_and_follows_changes(cached_app, create_need):
    anon = cached_app.test_client(use_cookies=False)
    need = create_need(status="published")
    with cached_app.app_context():
        first = anon.get("/feeds/needs.atom")
        etag = first.headers["ETag"]
        hit = anon.get("/feeds/needs.atom", headers={"If-None-Match": etag})
        assert hit.status_code == 304 and hit.data == b""
        assert cached_app.extensions["page_cache"].hits == 1
        assert anon.get("/feeds/needs.atom").data == first.data
    need.title = "换了标题"
    db.session.commit()
    with cached_app.app_context():
        fresh = anon.get("/feeds/needs.atom", headers={"If-None-Match": etag})
        assert fresh.status_code == 200
        assert "换了标题" in fresh.get_data(as_text=True)
        db.session.remove()
