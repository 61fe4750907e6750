"""The report *frame*: the columns of every need and claim that the reports
read, held in memory as numpy arrays, one frame per process.

Why: a report is a handful of group-bys over the needs and claims of a region
and period. In SQL each is a pass over the selected rows, seconds of CPU for a
whole province, and every new cut (region, period, level) paid it again. Read
once into arrays, any cut is a few vectorised passes (the figures, before and
after: docs/reports.md, "Speed: the report frame").

Staying current: ``current()`` compares the frame's *data version* (the newest
ids of the audit log, ledger, claims and needs; every state change writes an
audit event) with the database's. When they differ, one background thread
reads a new frame (at most one read every ``REPORTS_REFRESH_SECONDS``, giving
way to the requests the worker serves) while requests keep using the one they
have — the page says when it was read (``loaded_at``) and that newer figures
are coming. A frame
older than ``REPORTS_STALE_SECONDS`` is not served stale: the request waits
for the new one, as does the first request of a process (``warm_start``
reads it when a worker starts). With ``REPORTS_CACHE_SECONDS`` 0 every call
reads a new frame.

Definitions are those of ``queries`` (which see): a need counts once
published; claimed/delivered are the need's own counters; confirmed is summed
over confirmed claims; a household is a distinct household key (the key
itself stays in this process, mapped to a number, and is never shown).
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np
import numpy.typing as npt
from flask import Flask, current_app
from sqlalchemy import func, select

from charitylink.claims.models import Claim, ClaimStatus
from charitylink.core import cache as page_stamp
from charitylink.core.timeutil import CHINA
from charitylink.extensions import db
from charitylink.needs.models import Need
from charitylink.orgs.models import Organization
from charitylink.reports.cache import data_version
from charitylink.reports.queries import (
    DONE,
    FULL,
    LEVEL_LENGTH,
    LIST_LIMIT,
    NEAR_EXPIRY_DAYS,
    OPEN,
    Filters,
    utc_naive,
)

log = logging.getLogger(__name__)

_NEED_COLS = (
    Need.id,
    Need.region_code,
    Need.public_region_code,
    Need.published_at,
    Need.fully_claimed_at,
    Need.category,
    Need.need_type,
    Need.status,
    func.coalesce(Need.amount_fen, 0),
    func.coalesce(Need.claimed_fen, 0),
    func.coalesce(Need.delivered_fen, 0),
    Need.household_key,
)
_CLAIM_COLS = (
    Claim.id,
    Claim.need_id,
    Claim.org_id,
    Claim.status,
    func.coalesce(Claim.amount_fen, 0),
    func.coalesce(Claim.delivered_fen, 0),
    Claim.created_at,
    Claim.delivered_on,
    Claim.due_on,
)
CLAIM_STATUSES = sorted(s.value for s in ClaimStatus)


class _Codes:
    """A categorical column read piece by piece: each distinct value gets a
    number; at the end the values are sorted and the numbers follow them."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}
        self.parts: list[np.ndarray] = []

    def add(self, values: tuple[Any, ...]) -> None:
        index = self.index
        number = index.setdefault
        self.parts.append(
            np.fromiter(
                (number(v, len(index)) for v in values),
                dtype=np.int32,
                count=len(values),
            )
        )

    def done(self) -> tuple[list[Any], np.ndarray]:
        """Sorted distinct values (None last) and each row's index among them."""
        seen = list(self.index)
        order = sorted(
            range(len(seen)), key=lambda i: (seen[i] is None, str(seen[i] or ""))
        )
        rank = np.empty(len(seen), dtype=np.int32)
        rank[order] = np.arange(len(seen), dtype=np.int32)
        first_seen = _joined(self.parts, np.int32)
        return [seen[i] for i in order], rank[first_seen] if len(seen) else first_seen


def _joined(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


class _Array:
    """An integer or time column read piece by piece into numpy."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype
        self.parts: list[np.ndarray] = []

    def add(self, values: tuple[Any, ...]) -> None:
        # SQLite hands times over as text ('2026-01-02 03:04:05.123456'),
        # PostgreSQL as datetime/date objects; numpy reads both, None is NaT.
        self.parts.append(np.array(values, dtype=self.dtype))

    def done(self) -> np.ndarray:
        return _joined(self.parts, self.dtype)


class _Values:
    """A column kept as the driver's values (a few, or parsed afterwards)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, values: tuple[Any, ...]) -> None:
        self.values.extend(values)

    def done(self) -> list[Any]:
        return self.values


INT, TIME, DAY = np.int64, np.dtype("datetime64[us]"), np.dtype("datetime64[D]")


_serials = itertools.count(1)


@dataclass
class Frame:
    version: tuple[Any, ...]
    loaded_at: datetime  # UTC
    serial: int  # tells frames apart (cached figures name the frame they used)
    # needs, ordered by id
    n_id: np.ndarray
    regions: list[str]
    n_region: np.ndarray
    public_regions: list[str]
    n_public: np.ndarray
    n_pub: np.ndarray  # published_at, NaT if never published
    n_full: np.ndarray  # fully_claimed_at
    categories: list[str]
    n_cat: np.ndarray
    types: list[str]
    n_type: np.ndarray
    statuses: list[str]
    n_status: np.ndarray
    n_amount: np.ndarray
    n_claimed: np.ndarray
    n_delivered: np.ndarray
    households: int
    n_hh: np.ndarray
    months: list[str]
    n_month: np.ndarray  # index into months, -1 if never published
    # the government assistance entries of published needs, one row per entry
    a_row: np.ndarray
    assistance_types: list[Any]
    a_type: np.ndarray
    a_monthly: np.ndarray
    n_has_assistance: np.ndarray
    # claims
    c_id: np.ndarray
    c_row: np.ndarray  # the claim's need, as a row of the needs arrays
    c_org: np.ndarray
    c_status: np.ndarray  # index into CLAIM_STATUSES
    c_amount: np.ndarray
    c_delivered: np.ndarray  # delivered_fen, 0 when not set
    c_created: np.ndarray
    c_delivered_on: np.ndarray
    c_due: np.ndarray

    def __post_init__(self) -> None:
        self._prefix_cache: dict[tuple[str, str], np.ndarray] = {}

    @property
    def size(self) -> int:
        return len(self.n_id)

    def in_prefix(self, prefix: str, public: bool = False) -> np.ndarray:
        """Per need: is its (true, or public) region under ``prefix``."""
        key = (prefix, "public" if public else "true")
        ok = self._prefix_cache.get(key)
        if ok is None:
            labels = self.public_regions if public else self.regions
            ok = np.array([c.startswith(prefix) for c in labels], dtype=bool)
            self._prefix_cache[key] = ok
        return ok[self.n_public if public else self.n_region]

    def claim_status_in(
        self, values: tuple[str, ...], mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Per claim (of ``mask``, if given): is its status one of ``values``."""
        status = self.c_status if mask is None else self.c_status[mask]
        return np.isin(status, [CLAIM_STATUSES.index(v) for v in values])


def load() -> Frame:
    """Read a new frame. The data version is read first, so a change committed
    while reading makes the frame look stale (read again), never the reverse."""
    version = data_version()
    loaded_at = datetime.now(UTC)
    # Hundreds of thousands of tuples are built and dropped here: the cyclic
    # garbage collector would walk them over and over (docs/reports.md).
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _read(version, loaded_at)
    finally:
        if gc_was_on:
            gc.enable()


def _read(version: tuple[Any, ...], loaded_at: datetime) -> Frame:
    (n_id, (regions, n_region), (public_regions, n_public), n_pub, n_full,
     (categories, n_cat), (types, n_type), (statuses, n_status), n_amount,
     n_claimed, n_delivered, (hk_labels, n_hh)) = _columns(
        select(*_NEED_COLS).order_by(Need.id),
        [_Array(INT), _Codes(), _Codes(), _Array(TIME), _Array(TIME), _Codes(),
         _Codes(), _Codes(), _Array(INT), _Array(INT), _Array(INT), _Codes()],
    )  # fmt: skip
    months_m = n_pub.astype("datetime64[M]")
    month_labels = [str(m) for m in np.unique(months_m[~np.isnat(months_m)])]
    n_month = np.full(len(n_id), -1, dtype=np.int32)
    published = ~np.isnat(n_pub)
    if month_labels:
        firsts = np.array([np.datetime64(m, "M") for m in month_labels])
        n_month[published] = np.searchsorted(firsts, months_m[published])
    _pause()
    a_row, a_type_raw, a_monthly, has = _assistance(n_id, published)
    kinds = _Codes()
    kinds.add(tuple(a_type_raw))
    assistance_types, a_type = kinds.done()
    _pause()

    (c_id, c_need, c_org, (status_labels, status_codes), c_amount, c_delivered,
     c_created, c_delivered_on, c_due) = _columns(
        select(*_CLAIM_COLS).order_by(Claim.id),
        [_Array(INT), _Array(INT), _Array(INT), _Codes(), _Array(INT), _Array(INT),
         _Array(TIME), _Array(DAY), _Array(DAY)],
    )  # fmt: skip
    status_of_label = np.array(
        [CLAIM_STATUSES.index(str(v)) for v in status_labels], dtype=np.int32
    )
    return Frame(
        version=version,
        loaded_at=loaded_at,
        serial=next(_serials),
        n_id=n_id,
        regions=regions,
        n_region=n_region,
        public_regions=public_regions,
        n_public=n_public,
        n_pub=n_pub,
        n_full=n_full,
        categories=categories,
        n_cat=n_cat,
        types=types,
        n_type=n_type,
        statuses=statuses,
        n_status=n_status,
        n_amount=n_amount,
        n_claimed=n_claimed,
        n_delivered=n_delivered,
        households=len(hk_labels),
        n_hh=n_hh,
        months=month_labels,
        n_month=n_month,
        a_row=a_row,
        assistance_types=assistance_types,
        a_type=a_type,
        a_monthly=a_monthly,
        n_has_assistance=has,
        c_id=c_id,
        c_row=np.searchsorted(n_id, c_need).astype(np.int32),
        c_org=c_org,
        c_status=status_of_label[status_codes] if len(status_labels) else status_codes,
        c_amount=c_amount,
        c_delivered=c_delivered,
        c_created=c_created,
        c_delivered_on=c_delivered_on,
        c_due=c_due,
    )


_FETCH = 4000


def _columns(stmt: Any, columns: list[Any]) -> list[Any]:
    """The result's columns, each gathered by its reader (``_Array``,
    ``_Codes``, ``_Values``). Read a few thousand rows at a time, each piece
    turned into numpy at once (the driver's values of every row at once would
    multiply the peak memory), with a pause between pieces: a frame is mostly
    read by a background thread, and one long C call (``fetchall`` of every
    row) would hold the GIL — every request of the worker
    would wait for it."""
    result = db.session.connection().execute(stmt)
    try:
        cursor = result.cursor
        while rows := cursor.fetchmany(_FETCH):
            for reader, values in zip(columns, zip(*rows, strict=True), strict=True):
                reader.add(values)
            _pause()
    finally:
        result.close()
    return [reader.done() for reader in columns]


# A frame read behind requests (the background thread) gives way to them: a
# sync gunicorn worker serves one request at a time, and the read goes on in the
# gaps between requests instead of halving the speed of each (the GIL).
_activity = threading.local()
_counts = {"in_flight": 0, "waiting": 0}
_counts_lock = threading.Lock()
PAUSE_MAX = 0.2  # seconds a read waits at one pause, at most


def _count(name: str, delta: int) -> None:
    with _counts_lock:
        _counts[name] += delta


def request_started() -> None:
    _count("in_flight", 1)


def request_ended() -> None:
    _count("in_flight", -1)


def _pause() -> None:
    """Between two pieces of a read. In the background: wait while a request
    is being served (unless one waits for this very read), at most
    ``PAUSE_MAX``; in the foreground only let other threads run."""
    if getattr(_activity, "background", False):
        deadline = time.monotonic() + PAUSE_MAX
        while _counts["in_flight"] > _counts["waiting"] and time.monotonic() < deadline:
            time.sleep(0.002)
    time.sleep(0.0005)


# --- the government assistance lists ------------------------------------------

# Reading the lists of at most this many needs by id; more, and every
# published need's list is read in one pass.
_BY_ID_LIMIT = 2000
_CHUNK = 500
_store_lock = threading.Lock()
_EMPTY: tuple[tuple[Any, int], ...] = ()


def _assistance(
    n_id: np.ndarray, published: np.ndarray
) -> tuple[np.ndarray, list[Any], np.ndarray, np.ndarray]:
    """One row per assistance entry of a published need: (need row, type,
    monthly amount), and per need whether it lists any entry. The lists are
    parsed once per process and kept by need id: a published need's list never
    changes (the needs service and the importer edit drafts and rejected needs
    only, and needs are never deleted), so a new frame reads only the lists of
    needs published since the last one."""
    store: dict[int, tuple[tuple[Any, int], ...]] = current_app.extensions.setdefault(
        "reports_assistance", {}
    )
    wanted = n_id[published].tolist()
    missing = [i for i in wanted if i not in store]
    lists = select(Need.id, Need.gov_assistance)
    if len(missing) > _BY_ID_LIMIT:
        chunks = [lists.where(Need.published_at.is_not(None))]
    else:
        chunks = [
            lists.where(Need.id.in_(missing[k : k + _CHUNK]))
            for k in range(0, len(missing), _CHUNK)
        ]
    fetched: list[tuple[int, Any]] = []
    for stmt in chunks:
        ids, raw = _columns(stmt, [_Values(), _Values()])
        fetched += zip(ids, raw, strict=True)
    if fetched:
        with _store_lock:
            for need_id, raw in fetched:
                store[need_id] = _parse_assistance(raw)
    rows: list[int] = []
    kinds: list[Any] = []
    amounts: list[int] = []
    has = np.zeros(len(n_id), dtype=bool)
    for row in np.flatnonzero(published).tolist():
        entries = store.get(int(n_id[row]), _EMPTY)
        if entries:
            has[row] = True
            for kind, monthly in entries:
                rows.append(row)
                kinds.append(kind)
                amounts.append(monthly)
    return (
        np.array(rows, dtype=np.int32),
        kinds,
        np.array(amounts, dtype=np.int64),
        has,
    )


def _parse_assistance(raw: Any) -> tuple[tuple[Any, int], ...]:
    """A need's assistance list as (type, monthly amount) pairs. SQLite hands
    the JSON over as text, PostgreSQL (psycopg) already decoded."""
    import json

    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            return _EMPTY
    if not isinstance(raw, list) or not raw:
        return _EMPTY
    out = []
    for e in raw:
        if isinstance(e, dict):
            try:
                monthly = int(e.get("monthly_amount") or 0)
            except (TypeError, ValueError):
                monthly = 0
            out.append((e.get("type"), monthly))
        else:
            out.append((None, 0))
    return tuple(out)


# --- keeping one frame per process ----------------------------------------------


_state_lock = threading.Lock()  # guards _Holder.loading


class _Holder:
    def __init__(self) -> None:
        self.frame: Frame | None = None
        self.lock = threading.Lock()  # one reader of a new frame at a time
        self.loading: threading.Thread | None = None
        self.last_read = 0.0  # time.monotonic() when the last read ended


def _holder(app: Flask) -> _Holder:
    # dict.setdefault is atomic: two threads get the same holder.
    return app.extensions.setdefault("reports_frame", _Holder())


def in_hand(app: Flask) -> Frame | None:
    return _holder(app).frame


def _fresh(app: Flask, frame: Frame) -> bool:
    ttl = float(app.config.get("REPORTS_CACHE_SECONDS", 300))
    age = (datetime.now(UTC) - frame.loaded_at).total_seconds()
    return age < ttl and frame.version == data_version()


def current() -> Frame:
    """The frame to compute from now (see the module docstring)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if float(app.config.get("REPORTS_CACHE_SECONDS", 300)) <= 0:
        return load()
    holder = _holder(app)
    frame = holder.frame
    if frame is not None and _fresh(app, frame):
        return frame
    stale_for = float(app.config.get("REPORTS_STALE_SECONDS", 900))
    if frame is not None and stale_for > 0:
        age = (datetime.now(UTC) - frame.loaded_at).total_seconds()
        if age < stale_for:
            _load_later(app, holder)
            return frame
    _count("waiting", 1)  # a background read under way stops giving way
    try:
        with holder.lock:  # the request waits; one read serves every waiting one
            frame = holder.frame
            if frame is None or not _fresh(app, frame):
                frame = holder.frame = load()
                holder.last_read = time.monotonic()
            return frame
    finally:
        _count("waiting", -1)


def _load_later(app: Flask, holder: _Holder) -> None:
    """Read a new frame in a background thread (at most one at a time)."""

    def run() -> None:
        _activity.background = True
        try:
            # At most one read every REPORTS_REFRESH_SECONDS: under a stream of
            # changes a worker would otherwise read frames back to back.
            spacing = float(app.config.get("REPORTS_REFRESH_SECONDS", 0))
            time.sleep(max(0.0, holder.last_read + spacing - time.monotonic()))
            with app.app_context():
                try:
                    with holder.lock:
                        frame = holder.frame
                        if frame is None or not _fresh(app, frame):
                            holder.frame = load()
                            holder.last_read = time.monotonic()
                    # /transparency is kept whole for visitors (core/page_cache)
                    # and was rendered from the old frame: drop the kept pages.
                    page_stamp.bump()
                finally:
                    db.session.remove()
        except Exception:  # logged; the frame in hand stays until the next try
            log.exception("reports: background refresh failed")
        finally:
            with _state_lock:
                holder.loading = None

    with _state_lock:
        if holder.loading is not None:
            return
        thread = threading.Thread(target=run, name="reports-frame", daemon=True)
        holder.loading = thread
    thread.start()


def loading(app: Flask) -> bool:
    with _state_lock:
        return _holder(app).loading is not None


def wait_for_load(app: Flask, timeout: float = 60.0) -> None:
    with _state_lock:
        thread = _holder(app).loading
    if thread is not None:
        thread.join(timeout)


# --- the figures ------------------------------------------------------------------


def need_mask(fr: Frame, f: Filters, published_only: bool = True) -> np.ndarray:
    """The needs a report covers: published (unless ``published_only`` is off),
    in the region prefix, published in the period."""
    mask = ~np.isnat(fr.n_pub) if published_only else np.ones(fr.size, dtype=bool)
    if f.prefix:
        mask &= fr.in_prefix(f.prefix)
    start, end = f.bounds()
    if start is not None:
        mask &= fr.n_pub >= np.datetime64(start, "us")
    if end is not None:
        mask &= fr.n_pub < np.datetime64(end, "us")
    return mask


def _sum(groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, groups, values)
    return out


def _distinct(
    groups: np.ndarray, values: np.ndarray, size: int, span: int
) -> np.ndarray:
    """Per group, the number of distinct ``values`` (ints below ``span``)."""
    if not len(groups):
        return np.zeros(size, dtype=np.int64)
    if size * span <= max(4_000_000, 20 * len(groups)):  # bits: no sort
        seen = np.zeros(size * span, dtype=bool)
        seen[groups.astype(np.int64) * span + values] = True
        return seen.reshape(size, span).sum(axis=1)
    pairs = np.unique(groups.astype(np.int64) * span + values)
    return np.bincount(pairs // span, minlength=size)


NEED_MEASURES = ("needs", "fully_claimed", "requested", "claimed", "delivered")


def measures(
    fr: Frame, mask: np.ndarray, groups: np.ndarray, size: int, households: bool = True
) -> dict[str, np.ndarray]:
    """Per group (``groups``: a group number per need), the need measures over
    the needs in ``mask``."""
    g = groups[mask]
    full = np.isin(
        fr.n_status[mask], [fr.statuses.index(s) for s in FULL if s in fr.statuses]
    )
    delivered = fr.n_delivered[mask]
    out = {
        "needs": np.bincount(g, minlength=size),
        "fully_claimed": np.bincount(g[full], minlength=size),
        "requested": _sum(g, fr.n_amount[mask], size),
        "claimed": _sum(g, fr.n_claimed[mask], size),
        "delivered": _sum(g, delivered, size),
    }
    if households:
        hh = fr.n_hh[mask]
        span = max(fr.households, 1)
        out["households"] = _distinct(g, hh, size, span)
        reached = delivered > 0
        out["households_reached"] = _distinct(g[reached], hh[reached], size, span)
    return out


def _rows(
    keys: list[dict[str, Any]], m: dict[str, np.ndarray], keep_empty: bool = False
) -> list[dict[str, Any]]:
    counts = m["needs"]
    return [
        {**key, **{name: int(values[i]) for name, values in m.items()}}
        for i, key in enumerate(keys)
        if keep_empty or counts[i]
    ]


def totals(fr: Frame, f: Filters) -> dict[str, int]:
    mask = need_mask(fr, f)
    row = _rows([{}], measures(fr, mask, np.zeros(fr.size, dtype=np.int32), 1), True)[0]
    confirmed = fr.claim_status_in((ClaimStatus.CONFIRMED.value,)) & mask[fr.c_row]
    row["confirmed"] = int(fr.c_delivered[confirmed].sum())
    return row


def matrix_and_months(
    fr: Frame, f: Filters
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Category × need type × status (without a period including needs never
    published), and the published needs by month of publication."""
    has_period = f.date_from is not None or f.date_to is not None
    mask = need_mask(fr, f, published_only=has_period)
    nt, ns = len(fr.types), len(fr.statuses)
    cell = (fr.n_cat.astype(np.int64) * nt + fr.n_type) * ns + fr.n_status
    size = len(fr.categories) * nt * ns
    keys = [
        {"category": c, "need_type": t, "status": s}
        for c in fr.categories
        for t in fr.types
        for s in fr.statuses
    ]
    matrix = _rows(keys, measures(fr, mask, cell, size, households=False))
    published = mask & (fr.n_month >= 0)
    months = _rows(
        [{"month": m} for m in fr.months],
        measures(fr, published, np.maximum(fr.n_month, 0), len(fr.months), False),
    )
    return matrix, months


def _level_groups(labels: list[str], length: int) -> tuple[list[str], np.ndarray]:
    cut = sorted({c[:length] for c in labels})
    index = {c: i for i, c in enumerate(cut)}
    return cut, np.array([index[c[:length]] for c in labels], dtype=np.int32)


def by_region(
    fr: Frame, f: Filters, level: str | None = None, public: bool = False
) -> list[dict[str, Any]]:
    """Per province, city or county (``level``): the true region, or the public
    one (the county, or its city where the needs library coarsened it)."""
    labels, of_need = (
        (fr.public_regions, fr.n_public) if public else (fr.regions, fr.n_region)
    )
    cut, of_label = _level_groups(labels, LEVEL_LENGTH[level or f.level])
    groups = of_label[of_need] if fr.size else of_need
    mask = need_mask(fr, f)
    return _rows([{"region": c} for c in cut], measures(fr, mask, groups, len(cut)))


def by_need_type(fr: Frame, f: Filters) -> list[dict[str, Any]]:
    keys = [{"need_type": t} for t in fr.types]
    return _rows(keys, measures(fr, need_mask(fr, f), fr.n_type, len(fr.types)))


def published_by_month(fr: Frame, f: Filters) -> list[dict[str, Any]]:
    """Published needs by the month of publication, with households."""
    mask = need_mask(fr, f)
    months = np.maximum(fr.n_month, 0)
    return _rows(
        [{"month": m} for m in fr.months], measures(fr, mask, months, len(fr.months))
    )


def _claims_in_prefix(fr: Frame, f: Filters) -> np.ndarray:
    if not f.prefix:
        return np.ones(len(fr.c_id), dtype=bool)
    return fr.in_prefix(f.prefix)[fr.c_row]


def delivered_by_month(fr: Frame, f: Filters) -> list[dict[str, Any]]:
    """Deliveries by the month they were made; the period selects deliveries by
    that date, the region by the need's region."""
    mask = (
        fr.claim_status_in(DONE)
        & ~np.isnat(fr.c_delivered_on)
        & _claims_in_prefix(fr, f)
    )
    if f.date_from:
        mask &= fr.c_delivered_on >= np.datetime64(f.date_from, "D")
    if f.date_to:
        mask &= fr.c_delivered_on <= np.datetime64(f.date_to, "D")
    month = fr.c_delivered_on[mask].astype("datetime64[M]")
    labels, groups = np.unique(month, return_inverse=True)
    size = len(labels)
    hh = fr.n_hh[fr.c_row[mask]]
    deliveries = np.bincount(groups, minlength=size)
    reached = _distinct(groups, hh, size, max(fr.households, 1))
    delivered = _sum(groups, fr.c_delivered[mask], size)
    return [
        {
            "month": str(labels[i]),
            "deliveries": int(deliveries[i]),
            "households_reached": int(reached[i]),
            "delivered": int(delivered[i]),
        }
        for i in range(size)
    ]


def households_reached_by_org(fr: Frame) -> dict[int, int]:
    """Per org: the households reached through its delivered or confirmed
    claims on published needs."""
    mask = fr.claim_status_in(DONE) & ~np.isnat(fr.n_pub[fr.c_row])
    orgs, groups = np.unique(fr.c_org[mask], return_inverse=True)
    hh = fr.n_hh[fr.c_row[mask]]
    counts = _distinct(groups, hh, len(orgs), max(fr.households, 1))
    return {int(o): int(c) for o, c in zip(orgs, counts, strict=True)}


def _need_codes(ids: list[int]) -> dict[int, str]:
    """Need codes by id, for the few rows a list shows (the frame holds none)."""
    out: dict[int, str] = {}
    unique = sorted(set(ids))
    for k in range(0, len(unique), _CHUNK):
        out.update(
            db.session.execute(
                select(Need.id, Need.code).where(Need.id.in_(unique[k : k + _CHUNK]))
            ).all()
        )
    return out


def _org_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(ids))
        ).all()
    )


def org_activity(fr: Frame, f: Filters) -> list[dict[str, Any]]:
    """Per org: its claims on needs of the region, made in the period."""
    mask = _claims_in_prefix(fr, f)
    start, end = f.bounds()
    if start is not None:
        mask &= fr.c_created >= np.datetime64(start, "us")
    if end is not None:
        mask &= fr.c_created < np.datetime64(end, "us")
    orgs, groups = np.unique(fr.c_org[mask], return_inverse=True)
    size = len(orgs)
    open_, done = fr.claim_status_in(OPEN, mask), fr.claim_status_in(DONE, mask)
    confirmed = fr.claim_status_in((ClaimStatus.CONFIRMED.value,), mask)
    lapsed = fr.claim_status_in(
        (ClaimStatus.CANCELLED.value, ClaimStatus.EXPIRED.value), mask
    )
    amount, delivered = fr.c_amount[mask], fr.c_delivered[mask]
    zero = np.zeros_like(amount)
    figures = {
        "claims": np.bincount(groups, minlength=size),
        "open": np.bincount(groups[open_], minlength=size),
        "deliveries": np.bincount(groups[done], minlength=size),
        "lapsed": np.bincount(groups[lapsed], minlength=size),
        "claimed": _sum(
            groups, np.where(open_, amount, np.where(done, delivered, zero)), size
        ),
        "delivered": _sum(groups, np.where(done, delivered, zero), size),
        "confirmed": _sum(groups, np.where(confirmed, delivered, zero), size),
    }
    names = _org_names([int(o) for o in orgs])
    rows: list[dict[str, Any]] = [
        {
            "org_id": int(orgs[i]),
            **{k: int(v[i]) for k, v in figures.items()},
            "org_name": names.get(int(orgs[i]), ""),
        }
        for i in range(size)
    ]
    rows.sort(key=lambda r: (-r["delivered"], r["org_name"]))
    return rows


def _date(value: np.datetime64) -> date:
    return date.fromisoformat(str(value))


def expiring_claims(fr: Frame, f: Filters, today: date) -> dict[str, Any]:
    """Open claims due within 7 days, and overdue ones (the current state; the
    period does not apply)."""
    horizon = np.datetime64(today + timedelta(days=NEAR_EXPIRY_DAYS), "D")
    day = np.datetime64(today, "D")
    mask = fr.claim_status_in(OPEN) & (fr.c_due <= horizon) & _claims_in_prefix(fr, f)
    due = fr.c_due[mask]
    chosen = np.flatnonzero(mask)[np.lexsort((fr.c_id[mask], due))][:LIST_LIMIT]
    names = _org_names(sorted({int(o) for o in fr.c_org[chosen]}))
    codes = _need_codes(fr.n_id[fr.c_row[chosen]].tolist())
    rows = []
    for i in chosen.tolist():
        due_on = _date(fr.c_due[i])
        rows.append(
            {
                "claim_id": int(fr.c_id[i]),
                "need_code": codes.get(int(fr.n_id[fr.c_row[i]]), ""),
                "org_name": names.get(int(fr.c_org[i]), ""),
                "amount": int(fr.c_amount[i]),
                "due_on": due_on,
                "days_left": (due_on - today).days,
                "overdue": due_on < today,
            }
        )
    return {
        "overdue": int((due < day).sum()),
        "due_soon": int((due >= day).sum()),
        "rows": rows,
    }


def repeated_help(fr: Frame, f: Filters, today: date) -> dict[str, Any]:
    """Households (by household key) with active claims from at least two orgs
    or on at least two needs within the 12 months ending on ``f.date_to`` or
    today. The rows carry counts and need codes only — never the key."""
    end_day = f.date_to or today
    start = utc_naive(datetime.combine(end_day - timedelta(days=365), dtime(), CHINA))
    end = utc_naive(datetime.combine(end_day + timedelta(days=1), dtime(), CHINA))
    mask = (
        fr.claim_status_in(OPEN + DONE)
        & (fr.c_created >= np.datetime64(start, "us"))
        & (fr.c_created < np.datetime64(end, "us"))
        & _claims_in_prefix(fr, f)
    )
    rows_ = fr.c_row[mask]
    hh_all = fr.n_hh[rows_]
    households, groups = np.unique(hh_all, return_inverse=True)
    size = len(households)
    is_open = fr.claim_status_in(OPEN, mask)
    amount = np.where(is_open, fr.c_amount[mask], fr.c_delivered[mask])
    orgs = fr.c_org[mask]
    org_span = int(orgs.max()) + 1 if len(orgs) else 1
    n_orgs = _distinct(groups, orgs, size, org_span)
    n_needs = _distinct(groups, rows_.astype(np.int64), size, max(fr.size, 1))
    n_claims = np.bincount(groups, minlength=size)
    total = _sum(groups, amount, size)
    flagged = np.flatnonzero((n_orgs >= 2) | (n_needs >= 2))
    # Most orgs first, then most needs, then the largest amount; the household
    # number (sorted keys) only breaks ties, so the order is stable.
    order = flagged[
        np.lexsort((flagged, -total[flagged], -n_needs[flagged], -n_orgs[flagged]))
    ]
    shown = order[:LIST_LIMIT]
    position = {int(g): i for i, g in enumerate(shown.tolist())}
    need_ids: list[set[int]] = [set() for _ in shown]
    if len(shown):
        in_shown = np.isin(groups, shown)
        for g, row in zip(
            groups[in_shown].tolist(), rows_[in_shown].tolist(), strict=True
        ):
            need_ids[position[g]].add(int(fr.n_id[row]))
    code_of = _need_codes([i for ids in need_ids for i in ids])
    codes = [{code_of.get(i, "") for i in ids} for ids in need_ids]
    rows = [
        {
            "household": i,
            "orgs": int(n_orgs[g]),
            "needs": int(n_needs[g]),
            "claims": int(n_claims[g]),
            "amount": int(total[g]),
            "need_codes": "、".join(sorted(codes[i - 1])),
        }
        for i, g in enumerate(shown.tolist(), start=1)
    ]
    return {"count": len(flagged), "rows": rows, "since": end_day - timedelta(365)}


def _percentile(sorted_xs: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont)."""
    if not sorted_xs:
        return None
    pos = p * (len(sorted_xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def time_to_full_claim(fr: Frame, f: Filters) -> dict[str, Any]:
    """Days from publication to full claim: median and 90th percentile, overall
    and per need type."""
    mask = need_mask(fr, f) & ~np.isnat(fr.n_full)
    mask &= fr.n_full >= fr.n_pub
    days = (fr.n_full[mask] - fr.n_pub[mask]).astype(np.int64) / 86_400_000_000
    types = fr.n_type[mask]

    def summary(xs: np.ndarray) -> dict[str, Any]:
        ordered = np.sort(xs).tolist()
        return {
            "count": len(ordered),
            "median": _percentile(ordered, 0.5),
            "p90": _percentile(ordered, 0.9),
        }

    return {
        "overall": summary(days),
        "by_need_type": [
            {"need_type": fr.types[t], **summary(days[types == t])}
            for t in np.unique(types).tolist()
        ],
    }


def assistance_link(fr: Frame, f: Filters) -> list[dict[str, Any]]:
    """The link to government assistance, per assistance type (and "none"):
    households, their monthly assistance (per household the largest amount it
    reported for that type, summed), how many were reached and the charity
    delivered to them (all their needs in the selection)."""
    mask = need_mask(fr, f)
    span = max(fr.households, 1)
    hh = fr.n_hh[mask]
    present = np.zeros(span, dtype=bool)
    present[hh] = True
    delivered = _sum(hh, fr.n_delivered[mask], span)
    has = np.zeros(span, dtype=bool)
    has[hh[fr.n_has_assistance[mask]]] = True
    entries = mask[fr.a_row]
    ntypes = max(len(fr.assistance_types), 1)
    best: npt.NDArray[np.int64] = np.full(span * ntypes, -1, dtype=np.int64)
    key = fr.n_hh[fr.a_row[entries]].astype(np.int64) * ntypes + fr.a_type[entries]
    np.maximum.at(best, key, fr.a_monthly[entries])
    best = best.reshape(span, ntypes)
    out = []
    for t, kind in enumerate(fr.assistance_types):
        with_type = best[:, t] >= 0
        if not with_type.any():
            continue
        d = delivered[with_type]
        out.append(
            {
                "type": kind,
                "households": int(with_type.sum()),
                "monthly": int(best[with_type, t].sum()),
                "reached": int((d > 0).sum()),
                "delivered": int(d.sum()),
            }
        )
    without = present & ~has
    if without.any():
        d = delivered[without]
        out.append(
            {
                "type": "none",
                "households": int(without.sum()),
                "monthly": 0,
                "reached": int((d > 0).sum()),
                "delivered": int(d.sum()),
            }
        )
    out.sort(key=lambda r: (r["type"] == "none", -r["households"], str(r["type"])))
    return out
