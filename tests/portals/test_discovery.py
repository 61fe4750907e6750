"""Discovery: the sitemap lists the public pages and follows publishing and
withdrawal, robots.txt keeps the work areas out and names the sitemap, and
public pages carry OpenGraph tags (work pages do not)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.robotparser import RobotFileParser

from charitylink.extensions import db
from tests.security.routes import rules
from tests.security.test_access_matrix import EXPECT

BASE = "http://localhost:5000"
NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _sitemap(client: Any) -> set[str]:
    resp = client.get("/sitemap.xml")
    assert resp.status_code == 200
    assert resp.content_type.startswith("application/xml")
    root = ET.fromstring(resp.data)
    assert root.tag == f"{NS}urlset"
    return {el.text or "" for el in root.iter(f"{NS}loc")}


def test_sitemap_lists_public_pages_and_follows_withdrawal(
    client, create_need, create_project, create_org, create_fund, create_user
):
    from charitylink.needs import services

    published = create_need(status="published")
    claimed = create_need(status="fully_claimed")
    hidden = [
        create_need(status=s)
        for s in ("draft", "submitted", "rejected", "withdrawn", "expired")
    ]
    org = create_org()
    fund = create_fund(org=org)
    project = create_project(fund=fund)
    draft = create_project(fund=fund, status="draft")
    pending = create_org(status="pending")
    pending_fund = create_fund(org=pending)
    pending_project = create_project(fund=pending_fund)

    urls = _sitemap(client)
    assert all(u.startswith(BASE + "/") for u in urls)
    for path in ("/", "/needs", "/projects", "/orgs", "/transparency", "/embed"):
        assert BASE + path in urls
    assert f"{BASE}/needs/{published.code}" in urls
    assert f"{BASE}/needs/{claimed.code}" in urls
    assert f"{BASE}/projects/{project.id}" in urls
    assert f"{BASE}/orgs/{org.id}" in urls
    assert f"{BASE}/funds/{fund.id}" in urls
    for need in hidden:
        assert f"{BASE}/needs/{need.code}" not in urls
    for gone in (
        f"/projects/{draft.id}",
        f"/projects/{pending_project.id}",
        f"/orgs/{pending.id}",
        f"/funds/{pending_fund.id}",
    ):
        assert BASE + gone not in urls
    # Every listed page answers 200 to anyone.
    for url in urls:
        assert client.get(url.removeprefix(BASE)).status_code == 200, url

    services.withdraw_need(published, create_user("moderator"), "家庭情况已改善")
    db.session.commit()
    assert f"{BASE}/needs/{published.code}" not in _sitemap(client)


def test_robots_keeps_work_areas_out(app, client, create_need):
    create_need(status="published")
    text = client.get("/robots.txt").get_data(as_text=True)
    assert f"Sitemap: {BASE}/sitemap.xml" in text
    robots = RobotFileParser()
    robots.parse(text.splitlines())
    for url in _sitemap(client):
        assert robots.can_fetch("*", url), url
    # Every page the public may not open is kept out (the bare /org by its
    # "$" rule, which this parser does not read; the page also demands a login).
    for rule in rules(app):
        allowed = EXPECT.get(rule.endpoint, {}).get("GET")
        if allowed is None or "public" in allowed or rule.rule == "/org":
            continue
        path = re.sub(r"<[^>]+>", "1", rule.rule)
        assert not robots.can_fetch("*", BASE + path), rule.rule
    for path in (
        "/login",
        "/register",
        "/api/v1/needs",
        "/embed/needs",
        "/claims/1/print",
    ):
        assert not robots.can_fetch("*", BASE + path), path
    assert robots.can_fetch("*", BASE + "/api/v1/docs")
    assert robots.can_fetch("*", BASE + "/orgs")


def _og(html: str) -> dict[str, str]:
    return dict(re.findall(r'<meta property="og:(\w+)" content="([^"]*)">', html))


def test_public_pages_carry_opengraph(
    client, create_need, create_project, login_as, create_user
):
    need = create_need(status="published", title="独居老人冬季取暖费用")
    project = create_project(summary="为困难家庭儿童提供助学金。")
    og = _og(client.get(f"/needs/{need.code}").get_data(as_text=True))
    assert og["title"] == "独居老人冬季取暖费用"
    assert og["type"] == "article"
    assert og["url"] == f"{BASE}/needs/{need.code}"
    assert og["description"].startswith("家庭成员长期患病")
    og = _og(client.get(f"/projects/{project.id}").get_data(as_text=True))
    assert og["description"] == "为困难家庭儿童提供助学金。"
    for path in (
        "/",
        "/needs",
        "/projects",
        "/orgs",
        f"/orgs/{project.org_id}",
        "/embed",
    ):
        og = _og(client.get(path).get_data(as_text=True))
        assert og.get("title") and og.get("description"), path
    # Work pages are not for sharing: no preview tags.
    login_as(create_user("moderator"))
    page = client.get(f"/mod/needs/{need.code}").get_data(as_text=True)
    assert "og:title" not in page


def test_public_lists_link_their_feeds(client):
    page = client.get("/needs?need_type=medical&region=22").get_data(as_text=True)
    link = re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*>', page)
    assert link is not None
    assert "/feeds/needs.atom?" in link.group(0)
    assert "need_type=medical" in link.group(0) and "region=22" in link.group(0)
    page = client.get("/projects?status=closed").get_data(as_text=True)
    assert 'href="/feeds/projects.atom?status=closed"' in page


def test_sitemap_becomes_an_index_past_its_limit(app, client, create_need, create_user):
    """Past SITEMAP_MAX addresses (the protocol's 50,000; a nation's needs
    library has a million) /sitemap.xml names numbered files, each within the
    limit: page 1 the fixed pages, then the public needs in the order entered,
    every one exactly once."""
    from charitylink.needs import services

    app.config["SITEMAP_MAX"] = 10
    needs = [create_need(status="published") for _ in range(23)]
    hidden = create_need(status="draft")
    resp = client.get("/sitemap.xml")
    assert resp.status_code == 200
    root = ET.fromstring(resp.data)
    assert root.tag == f"{NS}sitemapindex"
    files = [el.text or "" for el in root.iter(f"{NS}loc")]
    # File n ≥ 2: the public needs with ids in the n-1st run of 10 ids.
    runs = sorted({(n.id - 1) // 10 + 2 for n in needs})
    assert files == [f"{BASE}/sitemap-{n}.xml" for n in [1, *runs]]
    assert len(runs) >= 3  # 23 needs
    pages = []
    for url in files:
        page = client.get(url.removeprefix(BASE))
        assert page.status_code == 200
        assert page.content_type.startswith("application/xml")
        tree = ET.fromstring(page.data)
        assert tree.tag == f"{NS}urlset"
        locs = [el.text or "" for el in tree.iter(f"{NS}loc")]
        assert 0 < len(locs) <= 10
        pages.append(locs)
    assert f"{BASE}/needs" in pages[0] and f"{BASE}/" in pages[0]
    listed = [u for page in pages[1:] for u in page]
    assert listed == [f"{BASE}/needs/{n.code}" for n in needs]  # in order, once
    assert f"{BASE}/needs/{hidden.code}" not in listed
    for missing in (0, runs[-1] + 1):
        assert client.get(f"/sitemap-{missing}.xml").status_code == 404
    # A withdrawn need leaves its file (the data changed: nothing stale kept).
    gone, kept = needs[12], needs[13]
    services.withdraw_need(gone, create_user("moderator"), "家庭情况已改善")
    db.session.commit()
    text = "".join(client.get(f"/sitemap-{n}.xml").get_data(as_text=True) for n in runs)
    assert f"/needs/{gone.code}<" not in text and f"/needs/{kept.code}<" in text
    # Under the limit it is one file again (a setting, not the data, changed:
    # the kept files are dropped by hand).
    from charitylink.core import cache

    app.config["SITEMAP_MAX"] = 50_000
    cache.clear()
    assert f"{BASE}/needs/{needs[0].code}" in _sitemap(client)
