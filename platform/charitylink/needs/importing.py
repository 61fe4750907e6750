"""Bulk import of needs (``POST /api/v1/needs/import``, files, CLI).

Each row is a need in the API's input form (both halves, ``amount`` in fen) and is
matched by ``external_id``: a new id is created, a known one updated, an
identical one left alone (so re-running an import changes nothing). Every write
goes through ``needs.services`` (same validation, privacy guard, encryption and
audit as a need entered by hand), each row inside its own savepoint, so a bad
row changes nothing and the good rows are kept.

Rows are written in batches; the caller passes ``commit`` to make each batch
durable (the CLI and the upload page do, so an import killed half-way leaves
whole batches behind and a rerun completes it). The engine never touches
``request``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.permissions import covers, require_moderator
from charitylink.errors import DomainError, ValidationFailed
from charitylink.extensions import db
from charitylink.needs import privacy, services
from charitylink.needs.models import Need, NeedStatus
from charitylink.needs.validation import clean_need_input
from charitylink.regions import services as regions

MAX_ROWS = 5000
DEFAULT_BATCH = 250
# An import may rewrite a need only while nobody outside the office has seen it.
# Statuses at or beyond a claim: an import never touches these.
CLAIMED_STATUSES = (
    NeedStatus.FULLY_CLAIMED,
    NeedStatus.DELIVERED,
    NeedStatus.CONFIRMED,
)
_COMPARED = (
    "external_id",
    "title",
    "description",
    "category",
    "need_type",
    "urgency",
    "region_code",
    "household_size",
    "gov_assistance",
    "amount_fen",
    "in_kind",
    "items",
    "deadline_on",
    "age_band",
)


@dataclass
class InputRow:
    row: int  # 1-based index in a JSON array; the sheet line number in a file
    data: Any
    errors: dict[str, str] = field(default_factory=dict)  # from reading the file


@dataclass
class RowOutcome:
    row: int
    external_id: str | None
    status: str  # created | updated | unchanged | refused
    code: str | None = None  # the need's code (XQ-...), when there is a need
    error_code: str | None = None
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "external_id": self.external_id,
            "status": self.status,
            "code": self.code,
            "error_code": self.error_code,
            "message": self.message,
            "errors": self.errors,
        }


@dataclass
class ImportResult:
    outcomes: list[RowOutcome]
    dry_run: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0, "refused": 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        counts["total"] = len(self.outcomes)
        return counts


def rows_from_json(body: Any) -> list[InputRow]:
    """The rows of an API body: a JSON array, or ``{"rows": [...]}``.

    Raises ``ValidationFailed`` for another shape or more than ``MAX_ROWS`` rows
    (nothing is written then)."""
    rows = body.get("rows") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        raise ValidationFailed(
            _('请求体应为需求数组，或形如 {"rows": [...]} 的对象。'),
            {"rows": _("应为数组。")},
        )
    if not rows:
        raise ValidationFailed(_("没有要导入的行。"), {"rows": _("数组为空。")})
    if len(rows) > MAX_ROWS:
        msg = _(
            "一次最多导入 %(n)s 行（本次 %(m)s 行），请分批提交。",
            n=MAX_ROWS,
            m=len(rows),
        )
        raise ValidationFailed(msg, {"rows": msg})
    return [InputRow(i, data) for i, data in enumerate(rows, start=1)]


def _external_id(data: Any) -> str | None:
    value = data.get("external_id") if isinstance(data, dict) else None
    if isinstance(value, int | str) and not isinstance(value, bool):
        value = str(value).strip()
        return value or None
    return None


def _existing(ids: list[str]) -> dict[str, Need]:
    found: dict[str, Need] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for need in db.session.scalars(select(Need).where(Need.external_id.in_(chunk))):
            found[need.external_id or ""] = need
    return found


def _same(need: Need, clean: Any) -> bool:
    """Whether a cleaned row equals what is stored (both halves)."""
    for key in _COMPARED:
        if key not in clean.public:
            continue
        stored = getattr(need, key)
        stored = getattr(stored, "value", stored)
        if stored != clean.public[key] and not (
            key in ("items", "gov_assistance") and not stored and not clean.public[key]
        ):
            return False
    return privacy.decrypt_household(need) == clean.household


def _refuse(
    row: InputRow,
    ext: str | None,
    error_code: str,
    message: str,
    errors: dict[str, str] | None = None,
    need: Need | None = None,
) -> RowOutcome:
    return RowOutcome(
        row.row,
        ext,
        "refused",
        code=need.code if need is not None else None,
        error_code=error_code,
        message=message,
        errors=errors or {},
    )


def _precheck(
    moderator: User, row: InputRow, seen: dict[str, int], existing: dict[str, Need]
) -> RowOutcome | tuple[str | None, Need | None, Any]:
    """Everything that refuses a row without writing; else (ext, need, clean)."""
    data, ext = row.data, _external_id(row.data)
    if not isinstance(data, dict):
        return _refuse(row, None, "validation_failed", _("每一行应为一个 JSON 对象。"))
    if row.errors:
        return _refuse(
            row, ext, "validation_failed", _("该行有无法识别的内容。"), dict(row.errors)
        )
    if ext is None:
        msg = _("导入时必须填写外部编号（external_id），用于重复导入时识别同一条需求。")
        return _refuse(row, None, "validation_failed", msg, {"external_id": msg})
    if ext in seen:
        msg = _("外部编号与第 %(n)s 行重复，本行未导入。", n=seen[ext])
        return _refuse(row, ext, "duplicate_external_id", msg, {"external_id": msg})
    seen[ext] = row.row
    county = data.get("region_code")
    if (
        isinstance(county, str)
        and regions.exists(county.strip())
        and not covers(moderator, county.strip())
    ):
        msg = _("区县代码 %(c)s 不在您负责的行政区划内。", c=county.strip())
        return _refuse(row, ext, "forbidden", msg, {"region_code": msg})
    need = existing.get(ext)
    if need is not None and not covers(moderator, need.region_code):
        need = None  # another region's need: nothing of it may show, not even its code
        foreign = True
    else:
        foreign = False
    try:
        clean = clean_need_input({**data, "external_id": ext})
    except ValidationFailed as exc:
        return _refuse(row, ext, exc.code, exc.message, exc.fields, need)
    if foreign:
        # External ids are unique across the platform, so this row cannot be
        # created; say only that the id is taken. Where, by which need, in what
        # state stays hidden, and the row's own errors came first, as for a new id.
        msg = _(
            "外部编号 %(e)s 已被使用，不能用于本行。外部编号在全平台唯一，"
            "请核对编号，或在编号前加上本地前缀（例如区县代码）。",
            e=ext,
        )
        return _refuse(row, ext, "external_id_taken", msg, {"external_id": msg})
    return ext, need, clean


def _decide(
    row: InputRow, ext: str | None, need: Need | None, clean: Any
) -> RowOutcome | None:
    """For a known need: unchanged, or refused when it may not be rewritten."""
    if need is None:
        return None
    if _same(need, clean):
        return RowOutcome(row.row, ext, "unchanged", code=need.code)
    if need.claimed_fen > 0 or need.status in CLAIMED_STATUSES:
        msg = _(
            "该需求已有机构认领（状态「%(s)s」），导入不会修改它。", s=need.status_label
        )
        return _refuse(row, ext, "claimed", msg, {"external_id": msg}, need)
    if not need.can("update"):
        msg = _(
            "该需求当前状态为「%(s)s」，只有草稿或已驳回的需求可以通过导入修改。",
            s=need.status_label,
        )
        return _refuse(row, ext, "invalid_transition", msg, {"external_id": msg}, need)
    return None


def _write(
    moderator: User, row: InputRow, ext: str | None, need: Need | None
) -> RowOutcome:
    data = {**row.data, "external_id": ext}
    try:
        if need is None:
            # create_need checks everything before it writes, and writes inside
            # its own savepoint: a refused row leaves nothing behind.
            need = services.create_need(data, moderator)
            status = "created"
        else:
            with db.session.begin_nested():
                services.update_need(need, data, moderator)
            status = "updated"
    except DomainError as exc:
        return _refuse(row, ext, exc.code, exc.message, exc.fields, need)
    return RowOutcome(row.row, ext, status, code=need.code)


def _create_batch(
    moderator: User, pending: list[tuple[InputRow, str | None, Any]]
) -> list[RowOutcome]:
    """Create validated new rows in one flush (``services.create_needs``); should
    the batch hit a constraint it is rolled back to its savepoint and replayed
    row by row through ``services.create_need``."""
    if not pending:
        return []
    try:
        with db.session.begin_nested():
            needs = services.create_needs(
                [clean for _r, _e, clean in pending], moderator
            )
    except IntegrityError:
        return [_write(moderator, row, ext, None) for row, ext, _clean in pending]
    return [
        RowOutcome(row.row, ext, "created", code=need.code)
        for (row, ext, _clean), need in zip(pending, needs, strict=True)
    ]


def run_import(  # noqa: C901, PLR0912 — dry run, savepoint and row-by-row replay are one transaction story
    moderator: User,
    rows: Sequence[InputRow],
    *,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH,
    commit: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create, update or leave alone each row; refuse bad rows one by one.

    Only a moderator imports, and only within the region prefix (rows outside
    are refused). ``dry_run`` validates and classifies without writing (the
    preview). ``commit`` runs after every ``batch_size`` rows and at the end;
    without it the caller commits once. ``progress(n)`` reports rows done.
    """
    require_moderator(moderator)
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(_("一次最多导入 %(n)s 行。", n=MAX_ROWS))
    seen: dict[str, int] = {}
    outcomes: list[RowOutcome] = []
    for start in range(0, len(rows), max(1, batch_size)):
        batch = rows[start : start + max(1, batch_size)]
        # Loaded per batch: a commit expires what was loaded before it, and a
        # reload per row would cost a query each.
        existing = _existing(sorted({e for r in batch if (e := _external_id(r.data))}))
        done: list[RowOutcome] = []
        to_create: list[tuple[InputRow, str | None, Any]] = []
        for row in batch:
            checked = _precheck(moderator, row, seen, existing)
            if isinstance(checked, RowOutcome):
                done.append(checked)
                continue
            ext, need, clean = checked
            decided = _decide(row, ext, need, clean)
            if decided is not None:
                done.append(decided)
            elif dry_run:
                status = "created" if need is None else "updated"
                code = need.code if need is not None else None
                done.append(RowOutcome(row.row, ext, status, code=code))
            elif need is None and not covers(moderator, clean.public["region_code"]):
                msg = _("该需求的区县不在您负责的行政区划内。")
                done.append(_refuse(row, ext, "forbidden", msg, {"region_code": msg}))
            elif need is None:
                to_create.append((row, ext, clean))
            else:
                done.append(_write(moderator, row, ext, need))
        if not dry_run:
            done.extend(_create_batch(moderator, to_create))
        outcomes.extend(sorted(done, key=lambda o: o.row))
        if not dry_run:
            db.session.flush()
            if commit is not None:
                commit()
        if progress is not None:
            progress(len(batch))
    result = ImportResult(outcomes, dry_run=dry_run)
    if not dry_run:
        counts = result.counts
        audit.record(
            moderator,
            "need.import",
            None,
            reason=_(
                "批量导入 %(t)s 行：新建 %(c)s，更新 %(u)s，未变 %(n)s，拒绝 %(r)s。",
                t=counts["total"],
                c=counts["created"],
                u=counts["updated"],
                n=counts["unchanged"],
                r=counts["refused"],
            ),
            region_code=getattr(moderator, "region_prefix", None),
        )
        db.session.flush()
        if commit is not None:
            commit()
    return result
