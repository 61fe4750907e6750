"""Work lists: one way to page, filter and sort a list of rows from the request.

Every moderator and org list (needs to review, claims, deliveries to confirm,
projects, orgs, the audit log) reads its page, page size, sort and filters
through here and hands the template a :class:`Page`, which carries the rows,
the total and the links of the pager with the filters kept in them.

Pages are lenient where the API is strict (core/params.py): a bad page number,
an unknown sort key or a malformed filter falls back to the default and the
person is told which value was ignored; a work list never answers 500 to a
hand-edited address. The total is a COUNT over the same filtered SELECT, so no
list is ever cut at a fixed number of rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, not_, or_, select

from charitylink.core import cache
from charitylink.core.timeutil import CHINA, InvalidDate, parse_day
from charitylink.extensions import db

DEFAULT_PER_PAGE = 20
PER_PAGE_CHOICES = (20, 50, 100)
MAX_PAGE = 100_000
_REGION = re.compile(r"[0-9]{2,12}")


def _int(raw: Any, default: int) -> int:
    text = raw.strip() if isinstance(raw, str) else ""
    if not re.fullmatch(r"[0-9]{1,7}", text):
        return default
    return int(text)


@dataclass
class Sort:
    """A sort key a person may choose: its label and the ORDER BY it means.

    ``columns`` are ascending; ``-key`` in the address reverses every one of
    them. The list's own tie-breaker (the id) is appended by the caller."""

    label: str
    columns: Sequence[Any]
    # Groups read one after another before the columns order within each
    # (e.g. "submitted first"); the rows in none of them come last.
    bands: Sequence[Any] = ()
    # Newest first, largest first: the key's natural order is descending and
    # ``-key`` turns it around.
    reverse: bool = False
    # The option for ``-key`` (default: the label and "reversed").
    reverse_label: str | None = None


@dataclass
class ListArgs:
    """What the request asked of a work list, already checked."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    sort: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    def get(self, name: str, default: str = "") -> str:
        return self.filters.get(name, default)

    def day(self, name: str) -> date | None:
        value = self.filters.get(name)
        return date.fromisoformat(value) if value else None


class ListParser:
    """Reads one list's arguments from ``request.args``: page, per_page, sort
    (one of ``sorts``, optionally ``-`` for descending) and the filters added
    with :meth:`choice`, :meth:`region` and :meth:`day`. Whatever does not
    pass is dropped and named in ``ignored`` (shown as a warning)."""

    def __init__(
        self,
        args: Mapping[str, Any],
        sorts: Mapping[str, Sort],
        default_sort: str,
        default_per_page: int = DEFAULT_PER_PAGE,
    ) -> None:
        self.raw = args
        self.sorts = sorts
        self.default_sort = default_sort
        self.default_per_page = default_per_page
        self.result = ListArgs(sort=default_sort, per_page=default_per_page)
        self._parse_paging(default_sort)

    def _parse_paging(self, default_sort: str) -> None:
        from charitylink.core.i18n import _

        r = self.result
        raw_page = self.raw.get("page")
        r.page = min(max(1, _int(raw_page, 1)), MAX_PAGE)
        if raw_page not in (None, "") and str(r.page) != str(raw_page).strip():
            r.ignored.append(
                _("页码「%(v)s」无效，已显示第 1 页。", v=str(raw_page)[:20])
            )
        per_page = _int(self.raw.get("per_page"), self.default_per_page)
        if per_page in PER_PAGE_CHOICES:
            r.per_page = per_page
        sort = (self.raw.get("sort") or "").strip()
        if sort and sort.lstrip("-") in self.sorts and sort.count("-") <= 1:
            r.sort = sort
        elif sort:
            r.ignored.append(_("排序「%(v)s」无效，已按默认顺序。", v=sort[:20]))
            r.sort = default_sort

    def _bad(self, name: str, label: str, value: str) -> None:
        from charitylink.core.i18n import _

        self.result.ignored.append(
            _("%(f)s「%(v)s」无效，已忽略。", f=label, v=value[:20])
        )

    def choice(self, name: str, allowed: Sequence[str], label: str) -> str:
        value = (self.raw.get(name) or "").strip()
        if value and value not in allowed:
            self._bad(name, label, value)
            value = ""
        if value:
            self.result.filters[name] = value
        return value

    def region(self, name: str, label: str) -> str:
        """A region code prefix (2–12 digits). It only narrows the list: the
        person's own scope is applied by the query whatever is typed here."""
        value = (self.raw.get(name) or "").strip()
        if value and not _REGION.fullmatch(value):
            self._bad(name, label, value)
            value = ""
        if value:
            self.result.filters[name] = value
        return value

    def day(self, name: str, label: str) -> date | None:
        value = self.raw.get(name)
        try:
            day = parse_day(value, label)
        except InvalidDate as exc:
            self.result.ignored.append(str(exc))
            return None
        if day is not None:
            self.result.filters[name] = day.isoformat()
        return day

    def date_range(self, column: Any) -> list[Any]:
        """WHERE clauses for ``from``/``to`` (China-time days, both included)
        on a UTC timestamp column."""
        from charitylink.core.i18n import _

        start = self.day("from", _("起始日期"))
        end = self.day("to", _("截止日期"))
        out = []
        if start is not None:
            out.append(column >= utc_day_start(start))
        if end is not None:
            out.append(column < utc_day_start(end + timedelta(days=1)))
        return out

    def text(self, name: str, max_length: int = 64) -> str:
        value = (self.raw.get(name) or "").strip()[:max_length]
        if value:
            self.result.filters[name] = value
        return value

    def order_by(self, tie_breaker: Any) -> list[Any]:
        """The ORDER BY of the chosen sort, the tie-breaker last (in the same
        direction) so that paging is stable."""
        r = self.result
        sort = self.sorts[r.sort_key]
        desc = r.descending != sort.reverse
        columns = [*sort.columns, tie_breaker]
        return [c.desc() if desc else c.asc() for c in columns]


@dataclass
class Page:
    """One page of a work list, with what the pager and filter bar need."""

    items: list[Any]
    total: int
    page: int
    per_page: int
    args: ListArgs = field(default_factory=ListArgs)
    sorts: Mapping[str, Sort] = field(default_factory=dict)
    default_sort: str = ""
    # The filtered SELECT the page was read from (for sums over all its rows).
    stmt: Any = None
    default_per_page: int = DEFAULT_PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)

    def query(self, page: int | None = None, **changes: Any) -> str:
        """The query string of this list with its filters, sort and page size,
        at ``page`` and with ``changes`` applied (None or "" removes a key)."""
        params: dict[str, Any] = dict(self.args.filters)
        if self.args.sort and self.args.sort != self.default_sort:
            params["sort"] = self.args.sort
        if self.per_page != self.default_per_page:
            params["per_page"] = self.per_page
        params.update(changes)
        if page is not None and page > 1:
            params["page"] = page
        return urlencode({k: v for k, v in params.items() if v not in (None, "")})

    def page_numbers(self) -> list[int | None]:
        """Page links to show: the first, the last and two either side of the
        current one; None where pages are left out."""
        wanted = {1, self.pages, *range(self.page - 2, self.page + 3)}
        shown = sorted(p for p in wanted if 1 <= p <= self.pages)
        out: list[int | None] = []
        for p in shown:
            if out and out[-1] is not None and p - out[-1] > 1:
                out.append(None)
            out.append(p)
        return out

    def sort_choices(self) -> list[tuple[str, str, str]]:
        """(key, label, label of the reversed order) of each sort."""
        from charitylink.core.i18n import _

        return [
            (k, str(s.label), str(s.reverse_label or _("%(s)s（倒序）", s=s.label)))
            for k, s in self.sorts.items()
        ]


def paginate(
    stmt: Select[Any],
    parser: ListParser,
    tie_breaker: Any,
    *,
    cache_key: str | None = None,
) -> Page:
    """Count ``stmt``'s rows, then read the requested page in the chosen order.

    A sort with ``bands`` ("what needs doing first") is read band by band, each
    in its own WHERE and in the sort's columns, so a database index serves each
    part instead of a sort over the whole list. A page past the end shows the
    last page (a list that shrank since its link was made still shows rows).
    With ``cache_key`` (which must name the person's scope and the filters) the
    counts are kept in core.cache until the next change to the data."""
    args = parser.result
    sort = parser.sorts[args.sort_key]
    parts = _bands(stmt, sort, args.descending)
    counts = [
        _cached_count(part, f"{cache_key}|{i}" if cache_key else None)
        for i, part in enumerate(parts)
    ]
    total = sum(counts)
    pages = max(1, math.ceil(total / args.per_page))
    if args.page > pages:
        args.page = pages
    order = parser.order_by(tie_breaker)
    skip, wanted = (args.page - 1) * args.per_page, args.per_page
    rows: list[Any] = []
    for part, n in zip(parts, counts, strict=True):
        if skip >= n:
            skip -= n
            continue
        rows.extend(_read(part, order, tie_breaker, wanted, skip))
        skip, wanted = 0, args.per_page - len(rows)
        if wanted <= 0:
            break
    return Page(
        rows,
        total,
        args.page,
        args.per_page,
        args,
        parser.sorts,
        parser.default_sort,
        stmt,
        parser.default_per_page,
    )


def _read(
    part: Select[Any], order: list[Any], id_column: Any, limit: int, offset: int
) -> list[Any]:
    """One page of rows: the ids first, in order (the sort reads narrow index
    entries, not the wide rows), then those rows by primary key."""
    ids = list(
        db.session.scalars(
            part.order_by(None)
            .with_only_columns(id_column)
            .order_by(*order)
            .limit(limit)
            .offset(offset)
        )
    )
    if not ids:
        return []
    entity = part.column_descriptions[0]["entity"]
    found = {
        getattr(row, id_column.key): row
        for row in db.session.scalars(select(entity).where(id_column.in_(ids))).unique()
    }
    return [found[i] for i in ids if i in found]


def _bands(stmt: Select[Any], sort: Sort, descending: bool) -> list[Select[Any]]:
    if not sort.bands:
        return [stmt]
    rest = not_(or_(*sort.bands))
    parts = [stmt.where(b) for b in sort.bands] + [stmt.where(rest)]
    return parts[::-1] if descending else parts


def _cached_count(stmt: Select[Any], key: str | None) -> int:
    if key is None:
        return count_rows(stmt)
    return int(cache.get_or_set(f"worklist-count|{key}", lambda: count_rows(stmt)))


def count_rows(stmt: Select[Any]) -> int:
    """COUNT of a list's rows, reading only its first column (the id): the
    count never loads rows or joined relations."""
    inner = stmt.order_by(None).with_only_columns(*stmt.selected_columns[:1])
    return int(
        db.session.scalar(select(func.count()).select_from(inner.subquery())) or 0
    )


def utc_day_start(day: date) -> datetime:
    """Midnight of a China-time day as the naive UTC the tables store, for a
    date-range filter on a timestamp column."""
    start = datetime.combine(day, time.min, tzinfo=CHINA)
    return start.astimezone(UTC).replace(tzinfo=None)


def kept_filters(
    args: Mapping[str, Any], names: Iterable[str]
) -> tuple[dict[str, Any], Callable[[int], str]]:
    """A public list's filters as its links keep them: the non-empty values
    of ``names`` in the request, and the query string of page ``n`` with
    them (the pager's ``page_args``)."""
    wanted = set(names)
    kept = {k: v for k, v in args.items() if k in wanted and v}

    def page_args(n: int) -> str:
        return urlencode({**kept, "page": n})

    return kept, page_args
