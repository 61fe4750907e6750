"""The one entry point pages and the API call: ``search_needs`` / ``search_projects``.

Free text goes through jieba (``analysis.query_tokens``); every word must match.
If the engine is missing or broken the same filters run as a database query
(LIKE over title and description), the log says so, and the page still answers.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, or_, select

from charitylink.core.i18n import _
from charitylink.extensions import db
from charitylink.needs.models import CATEGORY_LABELS, NEED_TYPE_LABELS, Need
from charitylink.projects.models import Project
from charitylink.regions.models import Region
from charitylink.search.analysis import MAX_QUERY_CHARS, normalize, query_tokens
from charitylink.search.backend import Hits, IndexUnavailable, NeedQuery, get_backend
from charitylink.search.documents import PROJECT, PUBLIC_NEED_STATUSES
from charitylink.search.highlight import highlight, snippet
from charitylink.search.query import (
    SORT_ALIASES,
    SORTS,
    Filters,
    Page,
    parse_args,
    region_facet_length,
)
from charitylink.search.sqlfilters import (
    need_clauses,
    need_order,
    project_clauses,
    project_order,
    region_facet,
)

log = logging.getLogger(__name__)


@dataclass
class Facet:
    value: str
    label: str
    count: int


@dataclass
class SearchResult:
    items: list[Any]
    total: int
    page: int = 1
    per_page: int = 20
    facets: dict[str, list[Facet]] = field(default_factory=dict)
    # object id → {"title": Markup, "snippet": Markup}, escaped, words in <mark>
    highlights: dict[int, dict[str, Markup]] = field(default_factory=dict)
    fallback: bool = False  # answered by the database: the index was unavailable
    message: str | None = None  # say this to the person (e.g. nothing to search)
    tokens: list[str] = field(default_factory=list)

    def facets_json(self) -> dict[str, list[dict[str, Any]]]:
        """The facets for the API: ``{"region": [{"value", "label", "count"}], …}``."""
        return {
            name: [{"value": f.value, "label": f.label, "count": f.count} for f in rows]
            for name, rows in self.facets.items()
        }

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _coerce(filters: Filters | Mapping[str, Any] | None, object_type: str) -> Filters:
    if filters is None:
        return Filters()
    if isinstance(filters, Filters):
        return filters
    return parse_args(filters, object_type).filters


def _page(sort: str, page: int, per_page: int) -> Page:
    sort = SORT_ALIASES.get(sort, sort)
    sort = sort if sort in SORTS else "relevance"
    return Page(sort, max(1, int(page)), min(max(1, int(per_page)), 100))


def _message(q: str, tokens: list[str]) -> str | None:
    text = normalize(q)
    if len(text) > MAX_QUERY_CHARS:
        return _("搜索词过长，只使用了前 %(n)s 个字符。", n=MAX_QUERY_CHARS)
    if text.strip() and not tokens:
        return _("没有找到可以搜索的词语，下面是按筛选条件列出的全部结果。")
    return None


def _like(column: Any, token: str) -> Any:
    return func.lower(column).contains(token, autoescape=True)


# -- needs -----------------------------------------------------------------
def search_needs(
    q: str | None,
    filters: Filters | Mapping[str, Any] | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
    facets: bool = True,
) -> SearchResult:
    """Published needs matching ``q`` and the filters, one page of them, with
    facet counts (region one level below the region filter, category, need
    type; skipped with ``facets=False``) and highlights. Never raises for any
    text in ``q``."""
    q = q or ""
    f = _coerce(filters, "need")
    tokens = query_tokens(q)
    nq = NeedQuery(
        tokens,
        f,
        _page(sort, page, per_page),
        region_facet_length(f.region),
        facets=facets,
    )
    fallback = False
    try:
        hits = get_backend().search_needs(db.session(), nq)
    except IndexUnavailable as exc:
        log.warning("search: index unavailable, answering from the database: %s", exc)
        hits = _db_needs(nq)
        fallback = True
    needs = [
        n
        for n in _load(Need, hits.ids, [])
        if str(n.status) in PUBLIC_NEED_STATUSES  # the index may lag a second
    ]
    return SearchResult(
        items=needs,
        total=hits.total,
        page=nq.page.page,
        per_page=nq.page.per_page,
        facets=_need_facets(hits.facets),
        highlights={
            n.id: {
                "title": highlight(n.title, tokens),
                "snippet": snippet(n.description, tokens),
            }
            for n in needs
        },
        fallback=fallback,
        message=_message(q, tokens),
        tokens=tokens,
    )


def _load(model: Any, ids: list[int], public: list[Any]) -> list[Any]:
    """The objects in ``ids`` order, re-checked as public in the database (the
    Whoosh index may lag by a few seconds: a just-withdrawn need is not shown).
    Needs are checked in Python by the caller: with a status condition in the
    query, SQLite without statistics (no ANALYZE) scanned every public need
    through the status index instead of doing 20 primary-key lookups."""
    if not ids:
        return []
    found = {
        o.id: o
        for o in db.session.scalars(select(model).where(model.id.in_(ids), *public))
    }
    return [found[i] for i in ids if i in found]


def _db_needs(nq: NeedQuery) -> Hits:
    where = need_clauses(nq.filters)
    for token in nq.tokens:
        where.append(or_(_like(Need.title, token), _like(Need.description, token)))
    base = select(Need.id).where(*where)
    sort = "newest" if nq.page.sort == "relevance" else nq.page.sort
    ids = list(
        db.session.scalars(
            base.order_by(*need_order(sort))
            .limit(nq.page.per_page)
            .offset(nq.page.offset)
        )
    )
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    facets: dict[str, dict[str, int]] = {}
    if not nq.facets:
        return Hits(ids=ids, total=int(total))
    region = region_facet(nq.region_facet_length)
    for name, column in (
        ("region", region),
        ("category", Need.category),
        ("need_type", Need.need_type),
    ):
        rows = db.session.execute(
            select(column, func.count()).where(*where).group_by(column)
        ).all()
        facets[name] = {str(k): int(v) for k, v in rows if k}
    return Hits(ids=ids, total=int(total), facets=facets)


def _region_label_codes(values: list[str]) -> dict[str, str]:
    if not values:
        return {}
    padded = {v: v.ljust(6, "0") for v in values}
    names = dict(
        db.session.execute(
            select(Region.code, Region.name).where(
                Region.code.in_(set(padded.values()))
            )
        ).all()
    )
    return {v: names.get(p, v) for v, p in padded.items()}


def _sorted(counts: dict[str, int], labels: Mapping[Any, str]) -> list[Facet]:
    return [
        Facet(value, labels.get(value, value), count)
        for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if count
    ]


def _need_facets(raw: dict[str, dict[str, int]]) -> dict[str, list[Facet]]:
    regions = raw.get("region", {})
    return {
        "region": _sorted(regions, _region_label_codes(list(regions))),
        "category": _sorted(raw.get("category", {}), CATEGORY_LABELS),
        "need_type": _sorted(raw.get("need_type", {}), NEED_TYPE_LABELS),
    }


# -- projects ----------------------------------------------------------------
def search_projects(
    q: str | None,
    filters: Filters | Mapping[str, Any] | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 20,
) -> SearchResult:
    """Published (and closed) projects matching ``q`` and the filters; facets by
    region and need type. Projects are few: the engine finds the matching ids,
    the database applies the filters."""
    q = q or ""
    f = _coerce(filters, "project")
    tokens = query_tokens(q)
    pg = _page(sort, page, per_page)
    where = project_clauses(f)
    scores: dict[int, float] = {}
    fallback = False
    if tokens:
        try:
            scores = dict(get_backend().match(db.session(), PROJECT, tokens))
            where.append(Project.id.in_(list(scores)) if scores else Project.id < 0)
        except IndexUnavailable as exc:
            log.warning(
                "search: index unavailable, answering from the database: %s", exc
            )
            fallback = True
            for token in tokens:
                where.append(
                    or_(
                        _like(Project.title, token),
                        _like(Project.summary, token),
                        _like(Project.body, token),
                    )
                )
    sort_key = pg.sort
    if sort_key == "relevance" and not scores:
        sort_key = "newest"
    projects = list(
        db.session.scalars(
            select(Project).where(*where).order_by(*project_order(sort_key))
        )
    )
    if sort_key == "relevance":
        projects.sort(key=lambda p: -scores.get(p.id, 0.0))  # stable: newest next
    items = projects[pg.offset : pg.offset + pg.per_page]
    return SearchResult(
        items=items,
        total=len(projects),
        page=pg.page,
        per_page=pg.per_page,
        facets=_project_facets(projects, region_facet_length(f.region)),
        highlights={
            p.id: {
                "title": highlight(p.title, tokens),
                "snippet": snippet(p.summary or p.body, tokens),
            }
            for p in items
        },
        fallback=fallback,
        message=_message(q, tokens),
        tokens=tokens,
    )


def _project_facets(projects: list[Project], length: int) -> dict[str, list[Facet]]:
    regions: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for p in projects:
        regions.update({c[:length] for c in p.region_codes or [] if c})
        types.update(set(p.need_types or []))
    return {
        "region": _sorted(dict(regions), _region_label_codes(list(regions))),
        "need_type": _sorted(dict(types), NEED_TYPE_LABELS),
    }
