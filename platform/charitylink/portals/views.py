"""Feeds, sitemap, robots.txt, the embeddable widgets and their documentation.

Everything here is the public half only and reuses the public lists' own
queries and filters (needs/queries.py, projects/queries.py, the search engine
with ``q``), so a feed or a widget shows exactly what the list with the same
query string shows, and is as fast as it (bench/load.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from charitylink.core import cache, page_cache
from charitylink.core.formatting import yuan
from charitylink.core.i18n import _, html_lang
from charitylink.core.security import embeddable
from charitylink.extensions import db
from charitylink.mail.render import absolute_url
from charitylink.needs import queries as need_queries
from charitylink.needs.models import NEED_TYPE_LABELS, PUBLIC_CONDITION, Need
from charitylink.portals.xmlout import Entry, atom_feed, sitemap_index, tag_uri, urlset
from charitylink.projects import queries as project_queries
from charitylink.projects.models import Project
from charitylink.regions import services as regions

bp = Blueprint("portals", __name__)

ATOM_TYPE = "application/atom+xml; charset=utf-8"
FEED_SIZE = 20  # entries per feed (a list page's worth) unless ?per_page= (at most 100)
EMBED_SIZE = 10  # cards per widget unless ?per_page= (at most 20)
SITEMAP_MAX = 50_000  # the sitemap protocol's limit for one file (SITEMAP_MAX)

NEED_FILTERS = (
    "q",
    "region",
    "category",
    "need_type",
    "status",
    "urgency",
    "min_amount",
    "max_amount",
    "sort",
)
PROJECT_FILTERS = ("q", "region", "need_type", "org_id", "status", "overdue", "sort")


def _kept(keys: tuple[str, ...]) -> dict[str, str]:
    """The request's filters (by name, non-empty) to carry into another link."""
    return {k: v for k in keys if (v := (request.args.get(k) or "").strip())}


def _size(default: int, largest: int) -> int:
    raw = (request.args.get("per_page") or "").strip()
    if raw.isdigit() and 1 <= int(raw[:4]) <= largest:
        return int(raw)
    return default


# ---------------------------------------------------------------- reading ----


def _needs(size: int) -> tuple[list[Need], int, list[str], Any]:
    """The public needs list's rows for the request's filters (page 1 unless
    ?page=): (rows, total, ignored-filter messages, search result or None)."""
    filters = need_queries.parse_filters(request.args, money="yuan", max_per_page=100)
    if filters.q:
        from charitylink.search.service import search_needs

        sort = filters.sort if request.args.get("sort") else "relevance"
        search = search_needs(
            filters.q, filters.as_dict(), sort, filters.page, size, facets=False
        )
        return search.items, search.total, filters.ignored, search
    rows, total = need_queries.public_needs(
        filters.as_dict(), filters.sort, filters.page, size
    )
    return rows, total, filters.ignored, None


def _projects(size: int) -> tuple[project_queries.Page, list[str], Any]:
    filters = project_queries.parse_filters(request.args)
    page, _per_page, page_errors = project_queries.parse_page(request.args)
    errors = list(filters.errors.values())
    if "page" in page_errors:
        errors.append(page_errors["page"])
    q = (request.args.get("q") or "").strip()
    if q:
        from charitylink.search.service import search_projects

        sort = filters.sort if request.args.get("sort") else "relevance"
        search = search_projects(q, request.args, sort, page, size)
        ids = [p.id for p in search.items]
        result = project_queries.Page(
            search.items, search.total, page, size, project_queries.progress(ids)
        )
        return result, errors, search
    return project_queries.public_page(filters, page, size), errors, None


# ------------------------------------------------------------------ feeds ----


def _self_url() -> str:
    query = request.query_string.decode("utf-8", "replace")
    return absolute_url(request.path + (f"?{query}" if query else ""))


def _latest(*values: datetime | None) -> datetime:
    from charitylink.portals.xmlout import utc

    return max(utc(v) for v in values if v is not None)


def _atom(body: bytes) -> Response:
    return Response(body, content_type=ATOM_TYPE)


@bp.get("/feeds/needs.atom")
@page_cache.cacheable
def needs_feed() -> ResponseReturnValue:
    rows, _total, _ignored, _search = _needs(_size(FEED_SIZE, 100))
    base = current_app.config["BASE_URL"]
    entries = []
    for need in rows:
        lines = [
            _("地区：%(v)s", v=regions.full_name(need.public_region_code)),
            _("需求类型：%(v)s", v=need.need_type_label),
            _("家庭类别：%(v)s", v=need.category_label),
            _("紧急程度：%(v)s", v=need.urgency_label),
            _("状态：%(v)s", v=need.status_label),
            _(
                "需求金额：%(a)s，已认领：%(c)s",
                a=yuan(need.amount_fen),
                c=yuan(need.claimed_fen),
            ),
        ]
        if need.deadline_on:
            lines.append(_("截止日期：%(v)s", v=need.deadline_on.isoformat()))
        entries.append(
            Entry(
                id=tag_uri(base, f"need/{need.code}"),
                title=need.title,
                url=absolute_url(url_for("needs.detail", code=need.code)),
                updated=_latest(need.updated_at, need.published_at),
                published=need.published_at,
                summary=need.description[:280],
                content="\n".join([*lines, "", need.description]),
                categories=[
                    (f"need_type:{need.need_type}", need.need_type_label),
                    (f"category:{need.category}", need.category_label),
                    (f"status:{need.status}", need.status_label),
                ],
            )
        )
    body = atom_feed(
        feed_id=tag_uri(base, "feeds/needs"),
        title=_("善联 · 困难群众需求"),
        subtitle=_("民政部门核实发布的需求（已脱敏）；筛选条件与需求库相同。"),
        self_url=_self_url(),
        alternate_url=absolute_url(
            url_for("needs.index", **_kept(NEED_FILTERS))  # type: ignore[arg-type]
        ),
        author=_("善联 CharityLink"),
        language=html_lang(),
        entries=entries,
    )
    return _atom(body)


@bp.get("/feeds/projects.atom")
@page_cache.cacheable
def projects_feed() -> ResponseReturnValue:
    result, _errors, _search = _projects(_size(FEED_SIZE, 100))
    base = current_app.config["BASE_URL"]
    entries = []
    for p in result.items:
        progress = result.progress.get(p.id) or project_queries.Progress()
        lines = [
            _("机构：%(v)s", v=p.org.name),
            _("状态：%(v)s", v=p.status_label),
            _(
                "目标：%(t)s，已认领：%(c)s，已交付：%(d)s，帮扶 %(h)s 户",
                t=yuan(p.target_fen),
                c=yuan(progress.claimed_fen),
                d=yuan(progress.delivered_fen),
                h=progress.households,
            ),
        ]
        entries.append(
            Entry(
                id=tag_uri(base, f"project/{p.id}"),
                title=p.title,
                url=absolute_url(url_for("projects.public_detail", project_id=p.id)),
                updated=_latest(p.updated_at, p.last_progress_at, p.published_at),
                published=p.published_at,
                summary=p.summary,
                content="\n".join([*lines, "", p.summary]),
                author=p.org.name,
                categories=[
                    (f"need_type:{t}", _(NEED_TYPE_LABELS.get(t, t)))
                    for t in p.need_types
                ],
            )
        )
    body = atom_feed(
        feed_id=tag_uri(base, "feeds/projects"),
        title=_("善联 · 帮扶项目"),
        subtitle=_("经审核公开的慈善帮扶项目；筛选条件与项目列表相同。"),
        self_url=_self_url(),
        alternate_url=absolute_url(
            url_for("projects.public_list", **_kept(PROJECT_FILTERS))  # type: ignore[arg-type]
        ),
        author=_("善联 CharityLink"),
        language=html_lang(),
        entries=entries,
    )
    return _atom(body)


# ------------------------------------------------------ sitemap, robots ----

STATIC_PAGES = (
    "public.home",
    "projects.public_list",
    "needs.index",
    "orgs.index",
    "reports.transparency_page",
    "portals.embed_docs",
    "api_v1.docs",
)


def _sitemap_max() -> int:
    return int(current_app.config.get("SITEMAP_MAX", SITEMAP_MAX))


def _base(endpoint: str, **values: Any) -> str:
    # One url_for per kind, not per row: the address up to its last part,
    # which is an id or a need code (digits, letters, "-": nothing to quote).
    return absolute_url(url_for(endpoint, **values)).rsplit("/", 1)[0] + "/"


def _fixed_urls() -> list[tuple[str, datetime | None]]:
    """The lists, verified orgs, their funds and the public projects."""
    from charitylink.funds.models import Fund
    from charitylink.orgs.models import Organization, OrgStatus

    urls: list[tuple[str, datetime | None]] = [
        (absolute_url(url_for(e)), None) for e in STATIC_PAGES
    ]
    org_url, fund_url = (
        _base("orgs.detail", org_id=1),
        _base("funds.public_detail", fund_id=1),
    )
    project_url = _base("projects.public_detail", project_id=1)
    verified = Organization.status == OrgStatus.VERIFIED
    for (org_id,) in db.session.execute(
        select(Organization.id).where(verified).order_by(Organization.id)
    ):
        urls.append((f"{org_url}{org_id}", None))
    for (fund_id,) in db.session.execute(
        select(Fund.id)
        .join(Organization, Organization.id == Fund.org_id)
        .where(verified)
        .order_by(Fund.id)
    ):
        urls.append((f"{fund_url}{fund_id}", None))
    projects = project_queries.public_query(project_queries.Filters())
    for project_id, updated in db.session.execute(
        projects.with_only_columns(Project.id, Project.updated_at).order_by(
            Project.published_at.desc(), Project.id.desc()
        )
    ):
        urls.append((f"{project_url}{project_id}", updated))
    return urls


def _need_urls(
    order: tuple[Any, ...], limit: int, *where: Any
) -> list[tuple[str, datetime | None]]:
    need_url = _base("needs.detail", code="XQ-00-000000")
    rows = db.session.execute(
        select(Need.code, Need.updated_at)
        .where(PUBLIC_CONDITION, *where)
        .order_by(*order)
        .limit(limit)
    )
    return [(f"{need_url}{code}", updated) for code, updated in rows]


def sitemap_urls(
    urls: list[tuple[str, datetime | None]],
) -> list[tuple[str, datetime | None]]:
    """Every public page in one file: the lists, verified orgs, their funds
    and public projects (``urls``, from ``_fixed_urls``), then public needs
    (newest first), up to the protocol's 50,000."""
    most = _sitemap_max()
    room = max(0, most - len(urls))
    newest = (Need.published_at.desc(), Need.id.desc())
    return (urls + _need_urls(newest, room))[:most]


def _id_range(page: int) -> tuple[Any, ...]:
    most = _sitemap_max()
    return (Need.id > (page - 2) * most, Need.id <= (page - 1) * most)


def sitemap_pages(fixed: int) -> list[int]:
    """The files the site's pages need (``fixed``: how many addresses
    ``_fixed_urls`` gives): [1] while they fit in one. Beyond
    that, file 1 holds the fixed pages and file n ≥ 2 the public needs whose
    id falls in the n-1st run of SITEMAP_MAX ids, so a file's contents stay
    put as needs are added (a crawler re-reads only the files that changed)
    and each is read by a range of the primary key; runs with no public need
    are left out."""
    most = _sitemap_max()
    # Counted no further than what decides it: not every need of a nation.
    some = select(Need.id).where(PUBLIC_CONDITION).limit(max(0, most - fixed) + 1)
    counted = db.session.scalar(select(func.count()).select_from(some.subquery()))
    if fixed + int(counted or 0) <= most:
        return [1]
    top = int(db.session.scalar(select(func.max(Need.id))) or 0)
    pages = [1]
    for page in range(2, 2 + -(-top // most)):
        if db.session.scalar(
            select(Need.id).where(PUBLIC_CONDITION, *_id_range(page)).limit(1)
        ):
            pages.append(page)
    return pages


def sitemap_page_urls(page: int) -> list[tuple[str, datetime | None]]:
    if page == 1:
        return _fixed_urls()[: _sitemap_max()]
    return _need_urls((Need.id.asc(),), _sitemap_max(), *_id_range(page))


def _pages(fixed: list[tuple[str, datetime | None]] | None = None) -> list[int]:
    def count() -> list[int]:
        return sitemap_pages(len(_fixed_urls() if fixed is None else fixed))

    return cache.get_or_set("portals.sitemap.pages", count)


@bp.get("/sitemap.xml")
@page_cache.cacheable
def sitemap() -> ResponseReturnValue:
    """One file of every public page, or past SITEMAP_MAX addresses (a
    nation's needs library) an index of the numbered files."""

    # Megabytes at a province's scale: more than the page cache keeps, and a
    # second of work. Kept per worker until the data changes (core/cache.py).
    def build() -> bytes:
        fixed = _fixed_urls()
        pages = _pages(fixed)
        if pages == [1]:
            return urlset(sitemap_urls(fixed))
        base = _base("portals.sitemap_page", page=1)
        return sitemap_index([f"{base}sitemap-{n}.xml" for n in pages])

    body = cache.get_or_set("portals.sitemap", build)
    return Response(body, content_type="application/xml; charset=utf-8")


@bp.get("/sitemap-<int:page>.xml")
@page_cache.cacheable
def sitemap_page(page: int) -> ResponseReturnValue:
    """One file of the index (/sitemap.xml names them when it is one)."""
    if page not in _pages():
        abort(404)
    body = cache.get_or_set(
        f"portals.sitemap.{page}", lambda: urlset(sitemap_page_urls(page))
    )
    return Response(body, content_type="application/xml; charset=utf-8")


# Work areas, sign-in and account pages, files and the API (its reference
# page excepted): nothing a search engine should list.
ROBOTS_DISALLOW = (
    "/mod",
    "/org/",
    "/org$",
    "/admin",
    "/account",
    "/inbox",
    "/api/",
    "/login",
    "/logout",
    "/forgot",
    "/reset/",
    "/confirm/",
    "/register",
    "/unsubscribe/",
    "/claims/",
    "/transparency/export/",
    "/embed/",
)


@bp.get("/robots.txt")
@page_cache.cacheable
def robots() -> ResponseReturnValue:
    lines = ["User-agent: *", "Allow: /api/v1/docs"]
    lines += [f"Disallow: {path}" for path in ROBOTS_DISALLOW]
    lines += ["", f"Sitemap: {absolute_url(url_for('portals.sitemap'))}", ""]
    return Response("\n".join(lines), content_type="text/plain; charset=utf-8")


# ----------------------------------------------------------------- embeds ----


@bp.get("/embed/needs")
@page_cache.cacheable
@embeddable
def embed_needs() -> ResponseReturnValue:
    rows, total, ignored, search = _needs(_size(EMBED_SIZE, 20))
    kept = _kept(NEED_FILTERS)
    return render_template(
        "embed/needs.html",
        needs=rows,
        total=total,
        ignored=ignored,
        search=search,
        full_url=url_for("needs.index") + (f"?{urlencode(kept)}" if kept else ""),
        region_name=regions.full_name,
    )


@bp.get("/embed/projects")
@page_cache.cacheable
@embeddable
def embed_projects() -> ResponseReturnValue:
    result, errors, search = _projects(_size(EMBED_SIZE, 20))
    kept = _kept(PROJECT_FILTERS)
    return render_template(
        "embed/projects.html",
        result=result,
        ignored=errors,
        search=search,
        full_url=url_for("projects.public_list")
        + (f"?{urlencode(kept)}" if kept else ""),
    )


def iframe_snippet(path: str, title: str, height: int) -> str:
    """The HTML a portal pastes (shown as text on /embed, escaped there)."""
    return (
        f'<iframe src="{absolute_url(path)}" title="{title}" width="100%" '
        f'height="{height}" loading="lazy" style="border:0"></iframe>'
    )


@bp.get("/embed")
@page_cache.cacheable
def embed_docs() -> ResponseReturnValue:
    return render_template(
        "embed/docs.html",
        needs_snippet=iframe_snippet(
            "/embed/needs?region=22&per_page=5", _("善联 · 困难群众需求"), 640
        ),
        projects_snippet=iframe_snippet(
            "/embed/projects?per_page=5", _("善联 · 帮扶项目"), 600
        ),
        feeds=[
            absolute_url(url_for("portals.needs_feed")),
            absolute_url(
                url_for("portals.needs_feed", region="2201", need_type="medical")
            ),
            absolute_url(url_for("portals.projects_feed")),
        ],
        sitemap_url=absolute_url(url_for("portals.sitemap")),
        api_url=absolute_url("/api/v1/needs"),
        need_filters=NEED_FILTERS,
        project_filters=PROJECT_FILTERS,
    )
