"""Requests from the person (查阅、复制、更正、删除; docs/privacy.md).

A moderator records a request for a household, found by its ID number through
the household key (the number itself is never stored); produces one JSON file
with everything held about the household across the moderator's regions;
corrects fields of a private half; erases private halves where no duty to keep
applies (through the purge's own erase function); and closes the request with
an outcome. Every step is audited without household data. Plain functions:
they flush, never commit.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select

from charitylink.accounts.models import User
from charitylink.core import audit, text_guard
from charitylink.core.i18n import _
from charitylink.core.identifiers import InvalidIdentifier, validate_id_number
from charitylink.core.permissions import covers, in_scope, require_moderator
from charitylink.core.timeutil import iso_utc, today, utcnow
from charitylink.errors import InvalidTransition, NotFound, ValidationFailed
from charitylink.extensions import db
from charitylink.needs import privacy
from charitylink.needs.models import Need
from charitylink.privacy import purge as purging
from charitylink.privacy.purge_models import (
    PrivacyRequest,
    RequestKind,
    RequestOutcome,
)

# A private half may be erased on request once its need has ended and no
# claim is still being handled (a reserved or delivered claim, a dispute):
# while help is under way the household's contact and the follow-up visit
# need it. The public half, claims, money and audit rows are kept whatever
# happens (the charity law's duty to account for donations).
ERASABLE_STATUSES = purging.ENDED_STATUSES
CORRECTABLE = ("name", "id_number", "phone", "address", "notes")


def due_days() -> int:
    return int(current_app.config.get("PRIVACY_REQUEST_DAYS", 15))


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, {field: message})


def household_key_for(id_number: Any) -> str:
    try:
        if not isinstance(id_number, str):
            raise InvalidIdentifier(_("请输入身份证号码"))
        number = validate_id_number(id_number, today=today())
    except InvalidIdentifier as exc:
        raise _fail("id_number", str(exc)) from None
    return privacy.household_key(number)


def household_needs(key: str, user: User) -> list[Need]:
    """The household's needs in the user's regions, oldest first."""
    return list(
        db.session.scalars(
            select(Need)
            .where(Need.household_key == key, in_scope(user, Need.region_code))
            .order_by(Need.created_at, Need.id)
        )
    )


def _clean_note(note: Any, field: str = "note") -> str:
    text = str(note or "").strip()
    if len(text) > 1000:
        raise _fail(field, _("说明不能超过 1000 个字。"))
    # The request's note reaches lists and the audit trail: no personal data.
    findings = text_guard.scan(text)
    if findings:
        raise _fail(field, text_guard.findings_message(findings))
    return text


def create_request(
    moderator: User,
    kind: Any,
    id_number: Any,
    note: Any = "",
    received_on: date | None = None,
) -> PrivacyRequest:
    require_moderator(moderator)
    if kind not in {k.value for k in RequestKind}:
        raise _fail("kind", _("请选择请求类型。"))
    key = household_key_for(id_number)
    received = received_on or today()
    needs = household_needs(key, moderator)
    region = needs[-1].region_code if needs else (moderator.region_prefix or "")
    req = PrivacyRequest(
        kind=RequestKind(kind),
        household_key=key,
        region_code=region[:12],
        received_on=received,
        due_on=received + timedelta(days=due_days()),
        note=_clean_note(note),
        created_by_id=moderator.id,
        created_at=utcnow(),
    )
    db.session.add(req)
    db.session.flush()
    audit.record(moderator, "privacy_request.create", req, None, "open", str(kind))
    db.session.flush()
    return req


def get_request(request_id: int, user: User) -> PrivacyRequest:
    require_moderator(user)
    req = db.session.get(PrivacyRequest, request_id)
    if req is None or not covers(user, req.region_code):
        raise NotFound(_("没有找到这条请求。"))
    return req


def requests_query(user: User) -> Any:
    return select(PrivacyRequest).where(in_scope(user, PrivacyRequest.region_code))


def overdue_count(user: User) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(PrivacyRequest)
            .where(
                in_scope(user, PrivacyRequest.region_code),
                PrivacyRequest.closed_at.is_(None),
                PrivacyRequest.due_on < today(),
            )
        )
        or 0
    )


def _require_open(req: PrivacyRequest) -> None:
    if req.closed_at is not None:
        raise InvalidTransition(_("这条请求已办结。"))


def _need_of(req: PrivacyRequest, user: User, code: Any) -> Need:
    need = db.session.scalar(
        select(Need).where(
            Need.code == str(code or ""), Need.household_key == req.household_key
        )
    )
    if need is None or not covers(user, need.region_code):
        raise NotFound(_("该家庭没有这条需求。"))
    return need


# --------------------------------------------------------------------------
# The copy of everything held


def _claims_of(need_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    from charitylink.claims.models import Claim

    out: dict[int, list[dict[str, Any]]] = {}
    if not need_ids:
        return out
    for claim in db.session.scalars(
        select(Claim).where(Claim.need_id.in_(need_ids)).order_by(Claim.id)
    ):
        out.setdefault(claim.need_id, []).append(
            {
                "org": claim.org.name if claim.org else None,
                "kind": str(claim.kind or "cash"),
                "status": str(claim.status),
                "status_label": claim.status_label,
                "amount_fen": claim.amount_fen,
                "delivered_fen": claim.delivered_fen,
                "created_at": iso_utc(claim.created_at),
                "delivered_on": claim.delivered_on.isoformat()
                if claim.delivered_on
                else None,
                "evidence_on_file": bool(
                    claim.evidence_path or claim.response_evidence_path
                ),
            }
        )
    return out


def _consents_of(need_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    from charitylink.privacy.models import Consent

    out: dict[int, list[dict[str, Any]]] = {}
    if not need_ids:
        return out
    cipher = privacy.cipher()
    for consent in db.session.scalars(
        select(Consent).where(Consent.need_id.in_(need_ids)).order_by(Consent.id)
    ):
        guardian = None
        if consent.guardian_name_ciphertext:
            try:
                guardian = cipher.decrypt(consent.guardian_name_ciphertext)
            except ValueError:
                guardian = None
        out.setdefault(consent.need_id, []).append(
            {
                "scope": str(consent.scope),
                "method": str(consent.method),
                "given_on": consent.given_on.isoformat(),
                "guardian_name": guardian,
                "signed_form_on_file": bool(consent.form_path),
                "recorded_at": iso_utc(consent.recorded_at),
                "withdrawn_at": iso_utc(consent.withdrawn_at),
                "withdrawn_reason": consent.withdrawn_reason,
            }
        )
    return out


def _views_of(needs: list[Need]) -> dict[str, list[dict[str, Any]]]:
    """Who saw the private half or the contact: audit rows of views and
    exports of these needs and of their claims."""
    from charitylink.claims.models import Claim

    codes = [n.code for n in needs]
    claim_ids = {
        str(cid): code
        for cid, code in db.session.execute(
            select(Claim.id, Need.code)
            .join(Need, Need.id == Claim.need_id)
            .where(Need.id.in_([n.id for n in needs]))
        )
    }
    seen = or_(
        audit.AuditEvent.action.like("%view%"),
        audit.AuditEvent.action.like("%export%"),
        audit.AuditEvent.action.like("%release%"),
    )
    rows = db.session.scalars(
        select(audit.AuditEvent)
        .where(
            seen,
            or_(
                (audit.AuditEvent.object_type == "need")
                & audit.AuditEvent.object_id.in_(codes or [""]),
                (audit.AuditEvent.object_type == "claim")
                & audit.AuditEvent.object_id.in_(list(claim_ids) or [""]),
            ),
        )
        .order_by(audit.AuditEvent.id)
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        code = row.object_id if row.object_type == "need" else claim_ids[row.object_id]
        out.setdefault(code, []).append(
            {
                "who": row.actor_label,
                "action": row.action,
                "what": audit.AUDIT_ACTION_LABELS.get(row.action, row.action),
                "at": iso_utc(row.created_at),
            }
        )
    return out


def household_file(req: PrivacyRequest, user: User) -> dict[str, Any]:
    """Everything held about the request's household in the user's regions."""
    needs = household_needs(req.household_key, user)
    ids = [n.id for n in needs]
    claims, consents, views = _claims_of(ids), _consents_of(ids), _views_of(needs)
    entries = []
    for need in needs:
        household = privacy.decrypt_household(need)
        entries.append(
            {
                "code": need.code,
                "title": need.title,
                "status": str(need.status),
                "status_label": need.status_label,
                "region_code": need.region_code,
                "amount_fen": need.amount_fen,
                "created_at": iso_utc(need.created_at),
                "closed_at": iso_utc(need.closed_at),
                "purged_at": iso_utc(need.purged_at),
                "household": household or None,
                "external_id": need.external_id,
                "consents": consents.get(need.id, []),
                "claims": claims.get(need.id, []),
                "seen_by": views.get(need.code, []),
            }
        )
    return {
        "generated_at": iso_utc(utcnow()),
        "generated_by": user.email,
        "request": {
            "id": req.id,
            "kind": str(req.kind),
            "received_on": req.received_on.isoformat(),
            "due_on": req.due_on.isoformat(),
        },
        "retention_days": purging.retention_days(),
        "needs": entries,
    }


def record_export(req: PrivacyRequest, user: User, count: int) -> None:
    req.exported_at = utcnow()
    audit.record(
        user,
        "privacy_request.export",
        req,
        reason=_("导出 %(n)s 条需求的信息", n=count),
    )
    db.session.flush()


def export_file(req: PrivacyRequest, user: User) -> bytes:
    """The one file (JSON, UTF-8) for the person; audited, never stored."""
    data = household_file(req, user)
    record_export(req, user, len(data["needs"]))
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


# --------------------------------------------------------------------------
# Correct, erase, close


def correct(
    req: PrivacyRequest, user: User, code: Any, changes: dict[str, Any]
) -> Need:
    """Correct fields of one private half (validated as on entry), audited."""
    from charitylink.needs.validation import _household

    _require_open(req)
    need = _need_of(req, user, code)
    if need.purged_at is not None:
        raise InvalidTransition(_("该需求的隐私信息已清除，无可更正。"))
    current = privacy.decrypt_household(need)
    merged = dict(current)
    for field in CORRECTABLE:
        if field in changes and changes[field] is not None:
            merged[field] = str(changes[field]).strip()
    errors: dict[str, str] = {}
    clean = _household(merged, need.region_code, errors)
    if errors:
        fields = {k.removeprefix("household."): v for k, v in errors.items()}
        raise ValidationFailed(_("更正的信息有误，请检查标出的字段。"), fields)
    changed = [f for f in CORRECTABLE if clean.get(f) != current.get(f)]
    if not changed:
        raise _fail("name", _("没有需要更正的内容。"))
    need.private_ciphertext = privacy.encrypt_household(clean)
    need.household_key = privacy.household_key(clean["id_number"])
    audit.record(
        user,
        "need.private_correct",
        need,
        reason=_("请求 #%(id)s 更正：%(f)s", id=req.id, f=", ".join(changed)),
    )
    db.session.flush()
    return need


def erasable(need: Need) -> bool:
    if need.purged_at is not None or need.status not in ERASABLE_STATUSES:
        return False
    return need.id not in purging._open_claim_need_ids([need.id])


def erase(req: PrivacyRequest, user: User, code: Any) -> list[str]:
    """Erase one need's private half on the person's request (the purge's
    own erase function); refused while a duty to keep applies."""
    _require_open(req)
    need = _need_of(req, user, code)
    if need.purged_at is not None:
        raise InvalidTransition(_("该需求的隐私信息已清除。"))
    if need.status not in ERASABLE_STATUSES:
        raise InvalidTransition(
            _(
                "需求仍在进行中（%(s)s），请先撤回或待其结束后再删除。",
                s=need.status_label,
            )
        )
    if not erasable(need):
        raise InvalidTransition(
            _("该需求仍有未完结的认领或争议，须保留到办结后再删除。")
        )
    key = need.household_key
    kinds = purging.erase_private(
        need,
        cause="request",
        actor=user,
        request_id=req.id,
        reason=_("应本人请求删除（请求 #%(id)s）", id=req.id),
    )
    purging.release_household_keys([key], cause="request")
    return kinds


def close(req: PrivacyRequest, user: User, outcome: Any, note: Any = "") -> None:
    _require_open(req)
    if outcome not in {o.value for o in RequestOutcome}:
        raise _fail("outcome", _("请选择办理结果。"))
    text = _clean_note(note, "outcome_note")
    if outcome == RequestOutcome.REFUSED and not text:
        raise _fail("outcome_note", _("不予办理时请写明理由。"))
    req.outcome = RequestOutcome(outcome)
    req.outcome_note = text
    req.closed_at = utcnow()
    req.closed_by_id = user.id
    audit.record(user, "privacy_request.close", req, "open", "closed", str(outcome))
    db.session.flush()


__all__ = [
    "close",
    "correct",
    "create_request",
    "erase",
    "export_file",
    "household_file",
]
