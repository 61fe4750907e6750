"""Retention and purge (docs/privacy.md): a fake clock, canaries in every
private field and file, then the raw database, the upload folder and the log
are read for them. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, text

from charitylink.claims.models import Claim, ClaimKind, ClaimStatus
from charitylink.core.audit import AuditEvent
from charitylink.core.timeutil import utcnow
from charitylink.extensions import db
from charitylink.needs import privacy
from charitylink.needs.models import Need, NeedStatus
from charitylink.privacy import purge as purging
from charitylink.privacy.models import Consent, ConsentMethod, ConsentScope
from charitylink.privacy.purge_models import PurgeLog
from tests.factories import make_id_number

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde"
)


def _canary(tag: str) -> str:
    return f"金丝雀{tag}{secrets.token_hex(4)}"


def _write_upload(app: Any, folder: str, data: bytes) -> str:
    name = secrets.token_hex(16) + ".png"
    path = Path(app.config["UPLOAD_DIR"]) / folder
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_bytes(data)
    return name


def _ended_need(
    create_need: Any, create_org: Any, app: Any, status: str, n: int
) -> dict:
    """An ended need with canaries in every private field, an evidence file
    and a consent with a guardian and a signed form."""
    canaries = {
        "name": _canary("名"),
        "address": _canary("址"),
        "notes": _canary("注"),
    }
    need = create_need(
        status=status,
        household={
            "name": canaries["name"],
            "id_number": make_id_number(700 + n, birth="19700101"),
            "phone": f"1391234{5000 + n:04d}",
            "address": canaries["address"],
            "notes": canaries["notes"],
        },
        external_id=f"EXT{secrets.token_hex(5).upper()}",
    )
    need.closed_at = utcnow()
    org = create_org()
    evidence_bytes = PNG + canaries["name"].encode()
    claim = Claim(
        need_id=need.id,
        org_id=org.id,
        amount_fen=1000,
        kind=ClaimKind.CASH,
        status=ClaimStatus.CONFIRMED,
        due_on=date.today(),
        delivered_fen=1000,
        evidence_path=_write_upload(app, "evidence", evidence_bytes),
        evidence_name=f"{canaries['name']}家门口.png",
        evidence_mime="image/png",
        response_evidence_path=_write_upload(app, "evidence", evidence_bytes),
        response_evidence_name="回应.png",
    )
    guardian = _canary("监护")
    consent = Consent(
        need_id=need.id,
        scope=ConsentScope.SHARE_CONTACT,
        method=ConsentMethod.GUARDIAN,
        given_on=date.today(),
        guardian_name_ciphertext=privacy.cipher().encrypt(guardian),
        form_path=_write_upload(app, "consents", b"form" + guardian.encode()),
        form_name=f"{guardian}同意书.png",
        form_mime="image/png",
    )
    db.session.add_all([claim, consent])
    db.session.commit()
    canaries.update(
        {
            "phone": need_phone(need),
            "id_number": privacy.decrypt_household(need)["id_number"],
            "ciphertext": need.private_ciphertext,
            "household_key": need.household_key,
            "external_id": need.external_id,
            "guardian": guardian,
            "guardian_ciphertext": consent.guardian_name_ciphertext,
            "evidence_name": claim.evidence_name,
            "evidence_path": claim.evidence_path,
            "form_path": consent.form_path,
        }
    )
    return {"need": need, "canaries": canaries}


def need_phone(need: Need) -> str:
    return str(privacy.decrypt_household(need)["phone"])


def _raw_texts(app: Any, tmp_path: Path) -> list[bytes]:
    """Every byte the database and the instance folder hold."""
    blobs: list[bytes] = []
    if db.engine.dialect.name == "postgresql":
        for table in inspect(db.engine).get_table_names():
            rows = db.session.execute(text(f'SELECT t::text FROM "{table}" t'))
            blobs.append("\n".join(r[0] for r in rows).encode())
    for path in tmp_path.rglob("*"):
        if path.is_file():
            blobs.append(path.read_bytes())
    return blobs


def _found(blobs: list[bytes], canaries: dict[str, str]) -> list[str]:
    hits = []
    for key, value in canaries.items():
        needle = value.encode()
        if any(needle in blob for blob in blobs):
            hits.append(key)
    return hits


def test_purge_erases_every_private_byte_and_keeps_the_rest(
    app,
    client,
    create_need,
    create_org,
    create_user,
    login_as,
    tmp_path,
    runner,
    api_token,
):
    old = [
        _ended_need(create_need, create_org, app, status, i)
        for i, status in enumerate(("confirmed", "withdrawn", "expired"))
    ]
    kept = create_need(status="published")
    kept_cipher, kept_id = kept.private_ciphertext, kept.id
    # Fresh ones get ended now; the fake clock runs the purge 1100 days later.
    stats_before = client.get("/api/v1/stats").get_json()
    audit_before = db.session.execute(
        select(AuditEvent.id, AuditEvent.action, AuditEvent.reason).order_by(
            AuditEvent.id
        )
    ).all()
    publics = {
        o["need"].code: (o["need"].title, o["need"].amount_fen, o["need"].delivered_fen)
        for o in old
    }
    codes = [o["need"].code for o in old]
    # The reader does see them before the purge (the test can fail).
    seen = _found(_raw_texts(app, tmp_path), old[0]["canaries"])
    assert {"ciphertext", "household_key", "guardian", "evidence_name"} <= set(seen)
    later = (utcnow() + timedelta(days=1100)).isoformat()

    dry = runner.invoke(args=["privacy", "purge", "--dry-run", "--now", later])
    assert dry.exit_code == 0, dry.output
    for code in codes:
        assert code in dry.output
    assert db.session.scalar(select(func.count()).select_from(PurgeLog)) == 0

    log_path = tmp_path / "app.log"
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        result = runner.invoke(args=["privacy", "purge", "--now", later])
        assert result.exit_code == 0, result.output
        assert "已清除 3 条" in result.output
        # The app after the purge: pages and API of the erased needs.
        moderator = create_user("moderator", region_prefix="22")
        login_as(moderator)
        headers = api_token(moderator)
        for code in codes:
            page = client.get(f"/mod/needs/{code}")
            assert page.status_code == 200
            assert "已按保存期限清除" in page.get_data(as_text=True)
            api = client.get(f"/api/v1/needs/{code}/private", headers=headers)
            assert api.status_code == 200
            body = api.get_json()
            assert body["household"] is None and body["purged_at"]
            assert client.get(f"/needs/{code}").status_code in (200, 404)
        db.session.remove()
        purging.scrub_storage()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()

    for o in old:
        assert _found(_raw_texts(app, tmp_path), o["canaries"]) == []

    # The rest stays: public halves, money, audit rows, figures, the open need.
    for code, public in publics.items():
        need = db.session.scalar(select(Need).where(Need.code == code))
        assert (need.title, need.amount_fen, need.delivered_fen) == public
        assert need.purged_at is not None
        assert need.household_key.startswith(purging.PURGED_KEY_PREFIX)
        assert (
            db.session.scalar(
                select(func.count()).select_from(Claim).where(Claim.need_id == need.id)
            )
            == 1
        )
    assert db.session.get(Need, kept_id).private_ciphertext == kept_cipher
    assert client.get("/api/v1/stats").get_json() == stats_before
    audit_after = db.session.execute(
        select(AuditEvent.id, AuditEvent.action, AuditEvent.reason).order_by(
            AuditEvent.id
        )
    ).all()
    assert audit_after[: len(audit_before)] == audit_before
    assert [row.action for row in audit_after].count("need.purge") == 3
    logged = db.session.scalars(select(PurgeLog)).all()
    assert {entry.need_code for entry in logged} == set(publics)

    # Idempotent: a second run erases nothing and logs nothing.
    again = runner.invoke(args=["privacy", "purge", "--now", later])
    assert again.exit_code == 0 and "已清除 0 条" in again.output
    assert db.session.scalar(select(func.count()).select_from(PurgeLog)) == len(logged)


def test_household_key_stays_while_a_need_is_within_retention(app, create_need, runner):
    id_number = make_id_number(880, birth="19800101")
    gone = create_need(status="withdrawn", household={"id_number": id_number})
    gone.closed_at = utcnow() - timedelta(days=2000)
    gone.updated_at = gone.closed_at
    recent = create_need(status="expired", household={"id_number": id_number})
    recent.closed_at = utcnow()
    db.session.commit()
    key = recent.household_key

    result = purging.purge_due()
    db.session.commit()
    assert [code for code, _ in result.purged] == [gone.code]
    db.session.refresh(gone)
    assert gone.purged_at is not None and gone.household_key == key

    later = utcnow() + timedelta(days=1100)
    result = purging.purge_due(later)
    db.session.commit()
    assert [code for code, _ in result.purged] == [recent.code]
    db.session.refresh(gone)
    db.session.refresh(recent)
    assert gone.household_key == recent.household_key != key
    assert recent.household_key.startswith(purging.PURGED_KEY_PREFIX)


def test_open_claims_hold_the_purge_and_replay_after_restore(
    app, create_need, create_org, runner
):
    need = create_need(status="withdrawn")
    need.closed_at = utcnow() - timedelta(days=2000)
    org = create_org()
    claim = Claim(
        need_id=need.id,
        org_id=org.id,
        amount_fen=1000,
        status=ClaimStatus.DISPUTED,
        due_on=date.today(),
        delivered_fen=1000,
    )
    db.session.add(claim)
    db.session.commit()
    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert "暂缓" in dry.output and need.code in dry.output
    assert purging.purge_due().purged == []

    claim.status = ClaimStatus.CONFIRMED
    db.session.commit()
    before = (need.private_ciphertext, need.household_key)
    assert [c for c, _ in purging.purge_due().purged] == [need.code]
    db.session.commit()
    # A restore from a backup taken before the purge: the row comes back, the
    # database's log with it; the log file outside the database remains.
    db.session.execute(
        text(
            "UPDATE needs SET private_ciphertext = :c, household_key = :k, "
            "purged_at = NULL WHERE id = :i"
        ),
        {"c": before[0], "k": before[1], "i": need.id},
    )
    db.session.execute(text("DELETE FROM privacy_purge_log"))
    db.session.commit()
    db.session.expire_all()
    result = runner.invoke(args=["privacy", "purge", "--replay-log"])
    assert result.exit_code == 0, result.output
    assert need.code in result.output
    db.session.expire_all()
    again = db.session.get(Need, need.id)
    assert again.purged_at is not None
    assert again.private_ciphertext == purging.PURGED
    assert again.household_key.startswith(purging.PURGED_KEY_PREFIX)
    assert again.status == NeedStatus.WITHDRAWN


def test_a_purged_need_cannot_go_back_to_the_library(
    app, client, create_need, create_user, api_token
) -> None:
    """Rejected → draft and re-opening an expired need are refused once the
    private half is gone (nobody could check or reach the household)."""
    from datetime import date

    from charitylink.errors import InvalidTransition
    from charitylink.needs import services

    moderator = create_user("moderator", region_prefix="22")
    rejected = create_need(status="rejected")
    expired = create_need(status="expired")
    for need in (rejected, expired):
        need.closed_at = utcnow()
        purging.erase_private(need)
    db.session.commit()
    for call in (
        lambda: services.return_to_draft(rejected, moderator),
        lambda: services.extend_need(expired, moderator, date(2100, 1, 1), "家庭来电"),
    ):
        try:
            call()
        except InvalidTransition as exc:
            assert "已按保存期限清除" in str(exc)
        else:
            raise AssertionError("a purged need went back to the library")
        db.session.rollback()
    assert db.session.get(Need, rejected.id).status == NeedStatus.REJECTED
    assert db.session.get(Need, expired.id).status == NeedStatus.EXPIRED
    resp = client.post(
        f"/api/v1/needs/{expired.code}/extend",
        json={"deadline": "2100-01-01", "reason": "家庭来电"},
        headers=api_token(moderator),
    )
    assert resp.status_code == 409, resp.json
