"""What the index holds: the PUBLIC half of published needs and projects, nothing else.

A need's private half (``private_ciphertext``, ``household_key``, the household's
name, ID number, phone, address) never reaches a document: only the columns
listed here are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from charitylink.needs.models import (
    CATEGORY_LABELS,
    NEED_TYPE_LABELS,
    PUBLIC_STATUSES,
    Need,
)
from charitylink.projects.models import Project, ProjectStatus
from charitylink.regions.models import Region

NEED = "need"
PROJECT = "project"
OFFER = "offer"
OBJECT_TYPES = (NEED, PROJECT, OFFER)
PUBLIC_NEED_STATUSES = tuple(str(s) for s in PUBLIC_STATUSES)
PUBLIC_PROJECT_STATUSES = (str(ProjectStatus.PUBLISHED), str(ProjectStatus.CLOSED))
NO_DEADLINE = 10**7  # sorts after every real date ordinal
# Everything need_document reads (and nothing private).
NEED_DOCUMENT_COLUMNS = (
    "id",
    "status",
    "title",
    "description",
    "category",
    "need_type",
    "public_region_code",
    "urgency",
    "amount_fen",
    "published_at",
    "deadline_on",
)


@dataclass
class Document:
    object_type: str
    object_id: int
    title: str
    body: str
    extra: str = ""  # labels and region names, so 低保 or 长春 find by text too
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.object_type}:{self.object_id}"


def _epoch(value: datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1_000_000)  # µs: same-second changes still order


def _ordinal(value: date | None) -> int:
    return value.toordinal() if value else NO_DEADLINE


def region_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    rows = session.execute(
        select(Region.code, Region.name).where(Region.code.in_(codes))
    ).all()
    return dict(rows)


def need_document(need: Need, names: dict[str, str] | None = None) -> Document | None:
    """The document for a need, or None when it must not be searchable."""
    if str(need.status) not in PUBLIC_NEED_STATUSES:
        return None
    region = need.public_region_code or ""
    names = names or {}
    extra = " ".join(
        filter(
            None,
            [
                CATEGORY_LABELS.get(need.category, ""),
                NEED_TYPE_LABELS.get(need.need_type, ""),
                names.get(region, ""),
            ],
        )
    )
    return Document(
        object_type=NEED,
        object_id=need.id,
        title=need.title or "",
        body=need.description or "",
        extra=extra,
        fields={
            "region": region,
            "region2": region[:2],
            "region4": region[:4],
            "category": str(need.category),
            "need_type": str(need.need_type),
            "status": str(need.status),
            "urgency": str(need.urgency),
            "amount": int(need.amount_fen),
            "published": _epoch(need.published_at),
            "deadline": _ordinal(need.deadline_on),
        },
    )


def project_document(
    project: Project,
    names: dict[str, str] | None = None,
    org_names: dict[int, str] | None = None,
) -> Document | None:
    """``org_names`` avoids loading ``project.org`` (inside a flush, for one)."""
    if str(project.status) not in PUBLIC_PROJECT_STATUSES:
        return None
    names = names or {}
    labels = [NEED_TYPE_LABELS.get(t, "") for t in project.need_types or []]  # type: ignore[call-overload]
    regions = [names.get(c, "") for c in project.region_codes or []]
    if org_names is not None:
        org_name = org_names.get(project.org_id, "")
    else:
        org_name = project.org.name if project.org is not None else ""
    return Document(
        object_type=PROJECT,
        object_id=project.id,
        title=project.title or "",
        body=f"{project.summary or ''}\n{project.body or ''}",
        extra=" ".join(filter(None, [org_name, *labels, *regions])),
        fields={
            "status": str(project.status),
            "amount": int(project.target_fen or 0),
            "published": _epoch(project.published_at),
            "deadline": _ordinal(project.end_on),
        },
    )


def document_for(
    obj: Any,
    names: dict[str, str] | None = None,
    org_names: dict[int, str] | None = None,
) -> Document | None:
    if isinstance(obj, Need):
        return need_document(obj, names)
    if isinstance(obj, Project):
        return project_document(obj, names, org_names)
    raise TypeError(type(obj))


def offer_documents(conn: Any, ids: Iterable[int]) -> dict[int, Document | None]:
    """Documents for these offers (None: deleted, not open, or its org is not
    verified), read with plain SQL on ``conn`` (a connection or a session): it
    runs inside a flush too, where nothing may lazy-load, and sees the rows the
    flush or a bulk UPDATE has just written. Only public columns are read; the
    end date is left to the list's own query (an expired offer simply stops
    being listed, no reindex needed)."""
    from charitylink.offers.models import Offer, OfferStatus
    from charitylink.orgs.models import Organization, OrgStatus

    ids = sorted(set(ids))
    found: dict[int, Document | None] = dict.fromkeys(ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(
                Offer.id,
                Offer.kind,
                Offer.title,
                Offer.description,
                Offer.need_types,
                Offer.unit,
                Offer.updated_at,
                Organization.name,
            )
            .join(Organization, Organization.id == Offer.org_id)
            .where(
                Offer.id.in_(ids[start : start + 500]),
                Offer.status == OfferStatus.OPEN,
                Organization.status == OrgStatus.VERIFIED,
            )
        ).all()
        for row in rows:
            found[row.id] = _offer_document(row)
    return found


def _offer_document(row: Any) -> Document:
    from charitylink.offers.models import OFFER_KIND_LABELS

    # The Chinese source labels: one index serves every reader's language.
    kind_labels = {str(k): v for k, v in OFFER_KIND_LABELS.items()}
    labels = [
        kind_labels.get(str(row.kind), ""),
        *(NEED_TYPE_LABELS.get(t, "") for t in row.need_types or []),
    ]
    return Document(
        object_type=OFFER,
        object_id=int(row.id),
        title=row.title or "",
        body=row.description or "",
        extra=" ".join(filter(None, [row.name or "", row.unit or "", *labels])),
        fields={"status": "open", "published": _epoch(row.updated_at)},
    )


def load_documents(
    session: Session, object_type: str, ids: Iterable[int], fresh: bool = False
) -> dict[int, Document | None]:
    """Current documents for these ids (None: deleted or not public).
    ``fresh`` re-reads rows already in the session (after a bulk UPDATE)."""
    ids = sorted(set(ids))
    if object_type == OFFER:
        return offer_documents(session, ids)
    model: type[Need] | type[Project] = Need if object_type == NEED else Project
    stmt = select(model).where(model.id.in_(ids))
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    # Typed by select() as the models' common base; the rows are of ``model``.
    objs = cast(Sequence[Need | Project], session.scalars(stmt).all()) if ids else []
    names = region_names(session, _region_codes(objs))
    found = {o.id: document_for(o, names) for o in objs}
    return {i: found.get(i) for i in ids}


def _region_codes(objs: Iterable[Any]) -> set[str]:
    codes: set[str] = set()
    for o in objs:
        if isinstance(o, Need):
            codes.add(o.public_region_code)
        else:
            codes.update(o.region_codes or [])
    return codes


def count_public(session: Session) -> int:
    needs = session.scalar(
        select(func.count())
        .select_from(Need)
        .where(Need.status.in_(PUBLIC_NEED_STATUSES))
    )
    projects = session.scalar(
        select(func.count())
        .select_from(Project)
        .where(Project.status.in_(PUBLIC_PROJECT_STATUSES))
    )
    return int(needs or 0) + int(projects or 0) + _count_public_offers(session)


def _public_offers() -> Any:
    from charitylink.offers.models import Offer, OfferStatus
    from charitylink.orgs.models import Organization, OrgStatus

    return (
        select(Offer.id)
        .join(Organization, Organization.id == Offer.org_id)
        .where(
            Offer.status == OfferStatus.OPEN,
            Organization.status == OrgStatus.VERIFIED,
        )
    )


def _count_public_offers(session: Session) -> int:
    stmt = _public_offers()
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def iter_public_documents(session: Session, batch: int = 1000) -> Iterator[Document]:
    """Every searchable document, read in id-ordered batches (keyset paging)."""
    names = dict(session.execute(select(Region.code, Region.name)).all())
    # Only the columns a need document reads: the private half is not even loaded.
    need_columns = load_only(*(getattr(Need, c) for c in NEED_DOCUMENT_COLUMNS))
    model: type[Need] | type[Project]
    for model, statuses in (
        (Need, PUBLIC_NEED_STATUSES),
        (Project, PUBLIC_PROJECT_STATUSES),
    ):
        last = 0
        while True:
            stmt = (
                select(model)
                .where(model.status.in_(statuses), model.id > last)
                .order_by(model.id)
                .limit(batch)
            )
            if model is Need:
                stmt = stmt.options(need_columns)
            # Typed by select() as the models' common base; the rows are of ``model``.
            objs = cast(Sequence[Need | Project], session.scalars(stmt).all())
            if not objs:
                break
            for obj in objs:
                doc = document_for(obj, names)
                if doc is not None:
                    yield doc
            last = objs[-1].id
            session.expunge_all()
    yield from _iter_public_offers(session, batch)


def _iter_public_offers(session: Session, batch: int) -> Iterator[Document]:
    from charitylink.offers.models import Offer

    last = 0
    while True:
        ids = list(
            session.scalars(
                _public_offers().where(Offer.id > last).order_by(Offer.id).limit(batch)
            )
        )
        if not ids:
            break
        for doc in offer_documents(session, ids).values():
            if doc is not None:
                yield doc
        last = ids[-1]
