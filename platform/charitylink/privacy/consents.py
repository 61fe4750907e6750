"""Consent records: recording, the signed form, withdrawal, and the one check
the contact release makes (docs/consents.md).

Who the consent concerns: the private half describes one person, the holder
of the ID number (the need's subject). Their birth date is read from that
number. A consent concerns a child under 14 when

- the subject is under 14 on the day the consent is given (any scope: the
  contact, the story and the photos are all theirs), or
- the need is a 困境儿童 need (``need_type == child``) and the scope is
  ``publish_story`` or ``photos``: whoever is registered, the story and the
  pictures are of the child. The contact of an adult registrant is the
  adult's own, so ``share_contact`` then needs no guardian.

Where it concerns a child, only ``method = guardian`` with the guardian's name
is accepted (PIPL Art. 31). The guardian's name is private: it is stored
encrypted like the private half and never audited, notified or logged.

Services flush, never commit; every change is audited.
"""

from __future__ import annotations

import base64
import secrets
from datetime import date
from pathlib import Path
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, select, update

from charitylink.accounts.models import User
from charitylink.core import audit
from charitylink.core.i18n import _
from charitylink.core.identifiers import InvalidIdentifier, birth_date_from_id
from charitylink.core.permissions import require_moderator
from charitylink.core.reasons import clean_reason
from charitylink.core.timeutil import InvalidDate, parse_day, today, utcnow
from charitylink.errors import Conflict, InvalidTransition, ValidationFailed
from charitylink.extensions import db
from charitylink.needs import privacy
from charitylink.needs.models import Need, NeedType
from charitylink.privacy.models import Consent, ConsentMethod, ConsentScope

CHILD_AGE = 14
GUARDIAN_NAME_MAX = 40
FORM_FIELD = "form"
_STORED = "{}.enc"


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def subject_birth_date(need: Need) -> date | None:
    try:
        return birth_date_from_id(
            str(privacy.decrypt_household(need).get("id_number") or "")
        )
    except (InvalidIdentifier, ValueError):
        return None


def concerns_child(need: Need, scope: str, given_on: date) -> bool:
    """Whether a consent of ``scope`` given on ``given_on`` concerns a child
    under 14 (the rule in the module docstring)."""
    birth = subject_birth_date(need)
    if birth is not None and _age_on(birth, given_on) < CHILD_AGE:
        return True
    return need.need_type == NeedType.CHILD and scope in (
        ConsentScope.PUBLISH_STORY,
        ConsentScope.PHOTOS,
    )


def _choice(value: Any, enum_cls: type[Any], field: str, errors: dict[str, str]) -> Any:
    allowed = [m.value for m in enum_cls]
    if value not in allowed:
        errors[field] = _("请选择有效的值：%(a)s。", a=", ".join(allowed))
        return None
    return enum_cls(value)


def check_consent_input(need: Need, data: dict[str, Any]) -> dict[str, Any]:
    """The consent's fields checked together (one round of errors); returns
    the clean values or raises ``ValidationFailed`` naming each bad field."""
    errors: dict[str, str] = {}
    scope = _choice(data.get("scope"), ConsentScope, "scope", errors)
    method = _choice(data.get("method"), ConsentMethod, "method", errors)
    given_on: date | None = None
    try:
        given_on = parse_day(data.get("given_on"), _("同意日期"))
        if given_on is None:
            errors["given_on"] = _("请填写同意日期。")
    except InvalidDate as exc:
        errors["given_on"] = str(exc)
    if given_on is not None and given_on > today():
        errors["given_on"] = _("同意日期不能晚于今天。")
        given_on = None
    raw_name = data.get("guardian_name")
    if raw_name is not None and not isinstance(raw_name, str):
        errors["guardian_name"] = _("监护人姓名必须是文本。")
        raw_name = ""
    guardian_name = (raw_name or "").strip()
    if len(guardian_name) > GUARDIAN_NAME_MAX:
        errors["guardian_name"] = _(
            "监护人姓名最多 %(n)s 个字符。", n=GUARDIAN_NAME_MAX
        )
    if method == ConsentMethod.GUARDIAN and not guardian_name:
        errors.setdefault("guardian_name", _("监护人同意须填写监护人姓名。"))
    if (
        scope is not None
        and given_on is not None
        and method is not None
        and method != ConsentMethod.GUARDIAN
        and concerns_child(need, scope, given_on)
    ):
        errors["method"] = _(
            "这项同意涉及不满 14 周岁的儿童，须由监护人同意（并填写监护人姓名）。"
        )
    if method is not None and method != ConsentMethod.GUARDIAN and guardian_name:
        errors.setdefault("guardian_name", _("只有监护人同意才填写监护人姓名。"))
    if errors:
        raise ValidationFailed(_("同意记录有误，请检查标出的字段。"), errors)
    return {
        "scope": scope,
        "method": method,
        "given_on": given_on,
        "guardian_name": guardian_name,
    }


def active_consent(need: Need, scope: str) -> Consent | None:
    return db.session.scalar(
        select(Consent)
        .where(
            Consent.need_id == need.id,
            Consent.scope == scope,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.id)
        .limit(1)
    )


def contact_consent_active(need: Need) -> bool:
    """For what a page shows (the org's contact button, the moderators' panel);
    the release itself calls :func:`hold_contact_consent`."""
    return active_consent(need, ConsentScope.SHARE_CONTACT) is not None


def hold_contact_consent(need: Need) -> bool:
    """At the moment of a contact release: is there an active ``share_contact``
    consent, and hold it until this transaction ends.

    A no-op UPDATE of the active consent rows is the transaction's first
    write: on PostgreSQL it locks those rows (a withdrawal waits for this
    release to commit, or, if the withdrawal committed first, the UPDATE
    re-reads the row, finds it withdrawn and matches nothing); on SQLite it
    takes the database's write lock, so the withdrawal and the release run one
    after the other. Either way no release commits after a withdrawal has."""
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(Consent)
            .where(
                Consent.need_id == need.id,
                Consent.scope == ConsentScope.SHARE_CONTACT,
                Consent.withdrawn_at.is_(None),
            )
            .values(id=Consent.id)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount > 0


def consents_of(need: Need) -> list[Consent]:
    return list(
        db.session.scalars(
            select(Consent).where(Consent.need_id == need.id).order_by(Consent.id)
        )
    )


def get_consent(consent_id: Any) -> Consent | None:
    if not isinstance(consent_id, int) or isinstance(consent_id, bool):
        return None
    return db.session.get(Consent, consent_id)


def _audit(
    actor: User | None, action: str, consent: Consent, need: Need, text: str
) -> audit.AuditEvent:
    return audit.record(
        actor, action, consent, None, None, text, region_code=need.region_code
    )


def _scope_text(consent: Consent) -> str:
    return f"需求 {consent_need(consent).code}：{consent.scope}/{consent.method}"


def consent_need(consent: Consent) -> Need:
    need = db.session.get(Need, consent.need_id)
    assert need is not None  # a foreign key
    return need


def record_consent(
    need: Need,
    moderator: User,
    data: dict[str, Any],
    form_upload: Any = None,
) -> Consent:
    """Record a consent for ``need`` (moderators of its region). One active
    consent per scope: a second is refused until the first is withdrawn."""
    require_moderator(moderator, need.region_code)
    clean = check_consent_input(need, data)
    if active_consent(need, clean["scope"]) is not None:
        raise Conflict(_("这项同意已有有效记录；如需更新，请先撤回原记录。"))
    consent = Consent(
        need_id=need.id,
        scope=clean["scope"],
        method=clean["method"],
        given_on=clean["given_on"],
        guardian_name_ciphertext=privacy.cipher().encrypt(clean["guardian_name"])
        if clean["guardian_name"]
        else None,
        recorded_by_id=moderator.id,
        recorded_at=utcnow(),
    )
    db.session.add(consent)
    db.session.flush()
    if form_upload is not None:
        _store_form(consent, form_upload)
    _audit(moderator, "consent.record", consent, need, _scope_text(consent))
    db.session.flush()
    return consent


def record_from_entry(need: Need, moderator: User, ticked: bool) -> Consent | None:
    """A need entered, edited or imported with the contact box ticked: a
    ``written`` consent by whoever entered it, given today, unless one is
    active. Unticking never withdraws: a withdrawal needs its reason (the
    consents panel). A child subject's consent cannot come from the box: it
    needs the guardian's name, so nothing is recorded and the moderator
    records it on the consents panel."""
    if not ticked or contact_consent_active(need):
        return None
    if concerns_child(need, ConsentScope.SHARE_CONTACT, today()):
        return None
    consent = Consent(
        need_id=need.id,
        scope=ConsentScope.SHARE_CONTACT,
        method=ConsentMethod.WRITTEN,
        given_on=today(),
        recorded_by_id=moderator.id,
        recorded_at=utcnow(),
    )
    db.session.add(consent)
    db.session.flush()
    _audit(moderator, "consent.record", consent, need, _scope_text(consent))
    return consent


def withdraw_consent(consent: Consent, moderator: User, reason: Any) -> Consent:
    """Withdraw a consent once, with a reason; tells the orgs that saw the
    contact (share_contact). The guarded UPDATE is the first write: a
    release holding the consent finishes first, one arriving later finds it
    withdrawn (:func:`hold_contact_consent`)."""
    need = consent_need(consent)
    require_moderator(moderator, need.region_code)
    text = clean_reason(reason, required=True)
    now = utcnow()
    result = cast(
        CursorResult[Any],
        db.session.execute(
            update(Consent)
            .where(Consent.id == consent.id, Consent.withdrawn_at.is_(None))
            .values(
                withdrawn_at=now, withdrawn_reason=text, withdrawn_by_id=moderator.id
            )
            .execution_options(synchronize_session=False)
        ),
    )
    db.session.refresh(consent)
    if result.rowcount != 1:
        raise InvalidTransition(_("这项同意已经撤回。"))
    row = _audit(moderator, "consent.withdraw", consent, need, text)
    if consent.scope == ConsentScope.SHARE_CONTACT:
        from charitylink.notifications import events

        events.consent_withdrawn(need, consent, row, orgs_that_saw_contact(need))
    db.session.flush()
    return consent


def orgs_that_saw_contact(need: Need) -> list[int]:
    """The orgs whose staff were shown the household's contact (their audited
    releases), for the withdrawal's notice."""
    from charitylink.claims.models import Claim

    claim_ids = [
        str(i)
        for i in db.session.scalars(select(Claim.id).where(Claim.need_id == need.id))
    ]
    if not claim_ids:
        return []
    return sorted(
        {
            org_id
            for org_id in db.session.scalars(
                select(audit.AuditEvent.org_id)
                .where(
                    audit.AuditEvent.action == "claim.contact_view",
                    audit.AuditEvent.object_type == "claim",
                    audit.AuditEvent.object_id.in_(claim_ids),
                )
                .distinct()
            )
            if org_id is not None
        }
    )


def guardian_name(consent: Consent) -> str:
    """The guardian's name, for the region's moderators' pages and API."""
    if not consent.guardian_name_ciphertext:
        return ""
    return privacy.cipher().decrypt(consent.guardian_name_ciphertext)


# --------------------------------------------------------------------------
# The signed form: checked like delivery evidence, stored encrypted
# --------------------------------------------------------------------------


def forms_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / "consents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _store_form(consent: Consent, upload: Any) -> None:
    from charitylink.claims import evidence

    try:
        prepared = evidence.prepare(upload)
    except ValidationFailed as exc:
        message = exc.message
        raise ValidationFailed(message, {FORM_FIELD: message}) from None
    token = privacy.cipher().encrypt(base64.b64encode(prepared.data).decode("ascii"))
    stored = _STORED.format(secrets.token_hex(16))
    target = forms_dir() / stored
    try:
        target.write_text(token, encoding="ascii")
    except OSError as exc:
        target.unlink(missing_ok=True)
        from charitylink.errors import StorageFull

        raise StorageFull(
            _("服务器存储空间不足，同意书未能保存，请稍后再试。"),
            {FORM_FIELD: _("同意书未能保存（服务器存储空间不足）。")},
        ) from exc
    old = consent.form_path
    consent.form_path = stored
    consent.form_name = prepared.display_name.replace("evidence.", "consent.")
    consent.form_mime = prepared.mime
    if old:
        _discard(old)


def attach_form(consent: Consent, moderator: User, upload: Any) -> Consent:
    """Attach (or replace) the scanned signed form of a consent."""
    need = consent_need(consent)
    require_moderator(moderator, need.region_code)
    _store_form(consent, upload)
    _audit(moderator, "consent.form", consent, need, _scope_text(consent))
    db.session.flush()
    return consent


def _form_path(stored: str | None) -> Path | None:
    if not stored or len(stored) != 36 or not stored.endswith(".enc"):
        return None
    path = forms_dir() / stored
    return path if path.is_file() else None


def _discard(stored: str) -> None:
    path = _form_path(stored)
    if path is not None:
        path.unlink(missing_ok=True)


def read_form(consent: Consent, moderator: User) -> tuple[bytes, str, str] | None:
    """The signed form's bytes, name and type (a view of private data:
    audited like the private half)."""
    need = consent_need(consent)
    require_moderator(moderator, need.region_code)
    path = _form_path(consent.form_path)
    if path is None:
        return None
    data = base64.b64decode(privacy.cipher().decrypt(path.read_text(encoding="ascii")))
    from charitylink.privacy import access

    audit.record(moderator, "need.private_view", need, reason=access.FORM_REASON)
    db.session.flush()
    access.note_private_view(moderator)
    return data, consent.form_name or "consent", consent.form_mime or "application/pdf"
