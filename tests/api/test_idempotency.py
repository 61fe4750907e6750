"""Idempotency-Key on API POSTs (docs/integration.md): replay, mismatch, in flight."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from charitylink.core.audit import AuditEvent
from charitylink.core.idempotency import IdempotencyRecord
from charitylink.extensions import db
from charitylink.needs.models import Need
from tests.imports.rows import need_row

URL = "/api/v1/needs/import"


def _counts() -> tuple[int, int]:
    needs = db.session.scalar(select(func.count()).select_from(Need))
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    return needs or 0, events or 0


def test_same_key_same_body_replays_first_response(
    client, create_user, api_token
) -> None:
    headers = {**api_token(create_user("moderator")), "Idempotency-Key": "k-1"}
    first = client.post(URL, json=[need_row(1)], headers=headers)
    assert first.status_code == 200
    assert first.json["summary"]["created"] == 1
    before = _counts()
    # Same JSON, other whitespace: the same request.
    again = client.post(
        URL,
        data=json.dumps([need_row(1)], indent=2),
        content_type="application/json",
        headers=headers,
    )
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json  # "created", not "unchanged": the first answer
    assert _counts() == before


def test_same_key_other_body_is_422(client, create_user, api_token) -> None:
    headers = {**api_token(create_user("moderator")), "Idempotency-Key": "k-2"}
    client.post(URL, json=[need_row(1)], headers=headers)
    before = _counts()
    resp = client.post(URL, json=[need_row(2)], headers=headers)
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in resp.json["error"]["fields"]
    assert _counts() == before


def test_same_key_while_in_flight_is_409(client, create_user, api_token) -> None:
    headers = {**api_token(create_user("moderator")), "Idempotency-Key": "k-3"}
    client.post(URL, json=[need_row(1)], headers=headers)
    # A record without a response yet is what a first request still running
    # leaves behind (claimed in its own transaction before the endpoint runs).
    record = db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.key == "k-3")
    )
    record.status_code, record.response_body = None, None
    db.session.commit()
    before = _counts()
    resp = client.post(URL, json=[need_row(1)], headers=headers)
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "idempotency_in_progress"
    assert _counts() == before


def test_keys_are_per_user(client, create_user, api_token) -> None:
    a, b = create_user("moderator"), create_user("moderator")
    ra = client.post(
        URL, json=[need_row(1)], headers={**api_token(a), "Idempotency-Key": "same"}
    )
    rb = client.post(
        URL, json=[need_row(1)], headers={**api_token(b), "Idempotency-Key": "same"}
    )
    assert ra.json["rows"][0]["status"] == "created"
    assert "Idempotent-Replayed" not in rb.headers
    assert rb.json["rows"][0]["status"] == "unchanged"


def test_malformed_key_is_400(client, create_user, api_token) -> None:
    headers = {**api_token(create_user("moderator")), "Idempotency-Key": "x" * 300}
    resp = client.post(URL, json=[need_row(1)], headers=headers)
    assert resp.status_code == 400
    assert _counts()[0] == 0


def test_donation_replayed_not_recorded_twice(
    client, create_fund, create_org, api_token
) -> None:
    from charitylink.funds.models import LedgerEntry
    from tests.factories import org_admin_of

    org = create_org()
    fund = create_fund(org=org)
    headers = {**api_token(org_admin_of(org)), "Idempotency-Key": "don-1"}
    body = {"amount": 50_000, "donor_name": "某爱心企业", "reference": "R1"}
    first = client.post(
        f"/api/v1/funds/{fund.id}/donations", json=body, headers=headers
    )
    assert first.status_code == 201
    again = client.post(
        f"/api/v1/funds/{fund.id}/donations", json=body, headers=headers
    )
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    entries = db.session.scalar(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.fund_id == fund.id)
    )
    assert entries == 1
    db.session.refresh(fund)
    assert fund.donations_fen == 50_000


def test_token_endpoint_ignores_the_key_and_stores_no_token(
    client, create_user
) -> None:
    from tests.factories import PASSWORD

    user = create_user("moderator")
    headers = {"Idempotency-Key": "tok-1"}
    body = {"email": user.email, "password": PASSWORD}
    a = client.post("/api/v1/tokens", json=body, headers=headers)
    b = client.post("/api/v1/tokens", json=body, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json["token"] != b.json["token"]
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def _records() -> int:
    return db.session.scalar(select(func.count()).select_from(IdempotencyRecord))


def test_anonymous_posts_write_no_record_and_get_401_before_any_key_check(
    client,
) -> None:
    # Pen-test finding: 200 rejected anonymous requests wrote 200 rows.
    for n in range(40):
        resp = client.post(
            URL, json=[need_row(n)], headers={"Idempotency-Key": f"anon-{n}"}
        )
        assert resp.status_code == 401
    # Authentication first: a reused key with another body, or a malformed key,
    # is still a 401 for a caller without a token (not 422 / 400).
    for key, body in (("anon-1", [need_row(99)]), ("x" * 300, [need_row(1)])):
        resp = client.post(URL, json=body, headers={"Idempotency-Key": key})
        assert resp.status_code == 401
        assert resp.json["error"]["code"] == "unauthorized"
    bad_token = {"Authorization": "Bearer nope", "Idempotency-Key": "anon-1"}
    assert client.post(URL, json=[need_row(99)], headers=bad_token).status_code == 401
    assert _records() == 0


def test_anonymous_registration_ignores_the_key(client) -> None:
    from tests.orgs.conftest import api_registration

    body = api_registration()
    for _n in range(3):
        resp = client.post(
            "/api/v1/orgs", json=body, headers={"Idempotency-Key": "register-1"}
        )
        assert "Idempotent-Replayed" not in resp.headers
    assert _records() == 0


def test_old_records_are_pruned_by_the_cron_command(
    app, client, create_user, api_token
):
    from datetime import timedelta

    from sqlalchemy import update

    from charitylink.core.timeutil import utcnow

    headers = {**api_token(create_user("moderator")), "Idempotency-Key": "old-1"}
    client.post("/api/v1/needs/XQ-22-999999/submit", headers=headers)
    headers["Idempotency-Key"] = "new-1"
    client.post("/api/v1/needs/XQ-22-999999/submit", headers=headers)
    db.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "old-1")
        .values(created_at=utcnow() - timedelta(days=31))
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["prune-idempotency", "--days", "30"])
    assert result.exit_code == 0 and "已删除 1 条" in result.output
    keys = db.session.scalars(select(IdempotencyRecord.key)).all()
    assert keys == ["new-1"]
    bad = app.test_cli_runner().invoke(args=["prune-idempotency", "--days", "0"])
    assert bad.exit_code != 0


def test_anonymous_complaint_refuses_a_malformed_key(client) -> None:
    """A complaint needs no account; a malformed key is still refused (400) and
    nothing is filed, while a well-formed one is ignored (no record kept)."""
    from charitylink.complaints.models import Complaint

    body = {
        "subject_type": "platform",
        "category": "other",
        "text": "平台页面上的联系方式打不开，请核实处理情况。",
    }
    bad = client.post(
        "/api/v1/complaints", json=body, headers={"Idempotency-Key": "坏键"}
    )
    assert bad.status_code == 400
    assert "Idempotency-Key" in bad.json["error"]["fields"]
    assert db.session.query(Complaint).count() == 0
    good = client.post(
        "/api/v1/complaints", json=body, headers={"Idempotency-Key": "c-1"}
    )
    assert good.status_code == 201, good.json
    assert _records() == 0


def test_request_hash_is_keyed_so_an_id_number_cannot_be_guessed_from_it(
    app, client, create_user, api_token
) -> None:
    """The stored hash is not a plain SHA-256 of the body (which holds the
    household's ID number): it changes with SECRET_KEY."""
    import hashlib

    headers = {**api_token(create_user("moderator")), "Idempotency-Key": "k-hash"}
    body = [need_row(1)]
    assert client.post(URL, json=body, headers=headers).status_code == 200
    stored = db.session.scalars(
        select(IdempotencyRecord.request_hash).where(IdempotencyRecord.key == "k-hash")
    ).one()
    canonical = json.dumps(
        body, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode()
    plain = hashlib.sha256(f"POST {URL}?{b''!r}".encode() + b"\0" + canonical)
    assert stored != plain.hexdigest()
    with app.test_request_context(URL, method="POST", json=body):
        from charitylink.core import idempotency

        assert idempotency._request_hash() == stored  # the same request, same key
        app.config["SECRET_KEY"] = "another-secret-key-long-enough-0123456789ab"
        assert idempotency._request_hash() != stored


def test_the_endpoints_commit_marks_the_record_in_the_same_transaction(
    client, create_user, api_token
) -> None:
    """What another connection sees right after the endpoint's first commit:
    the record already says something was committed (so a node dying before
    the answer is stored never lets a retry do it twice)."""
    from flask import g
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    seen: list[int | None] = []

    def after_commit(session: Session) -> None:
        from flask import has_request_context

        if not has_request_context() or g.get("idempotency_record_id") is None:
            return
        if session.in_nested_transaction():
            return  # a savepoint released: nothing is committed yet
        with db.engine.connect() as other:
            seen.append(
                other.scalar(
                    select(IdempotencyRecord.status_code).where(
                        IdempotencyRecord.id == g.idempotency_record_id
                    )
                )
            )

    event.listen(Session, "after_commit", after_commit)
    try:
        headers = {**api_token(create_user("moderator")), "Idempotency-Key": "k-mark"}
        resp = client.post(URL, json=[need_row(1)], headers=headers)
    finally:
        event.remove(Session, "after_commit", after_commit)
    assert resp.status_code == 200
    assert seen and seen[0] == 0  # marked by the endpoint's own commit
    stored = db.session.scalars(
        select(IdempotencyRecord.status_code).where(IdempotencyRecord.key == "k-mark")
    ).one()
    assert stored == 200


def test_a_dead_workers_key_is_taken_over_only_if_it_changed_nothing(
    app, client, create_user, api_token
) -> None:
    """A record left pending by a worker that died: if its request never
    committed, the key is free again after IDEMPOTENCY_STALE_SECONDS; if it
    committed, the key keeps answering 409 (the change is saved, not its
    answer), however old."""
    from datetime import timedelta

    from charitylink.core.timeutil import utcnow

    user = create_user("moderator")
    headers = api_token(user)
    body = [need_row(1)]
    stale = utcnow() - timedelta(seconds=app.config["IDEMPOTENCY_STALE_SECONDS"] + 5)

    def digest(rows: list[dict]) -> str:
        from charitylink.core import idempotency

        with app.test_request_context(URL, method="POST", json=rows):
            return idempotency._request_hash()

    def left_behind(key: str, status: int | None, at: Any) -> None:
        db.session.add(
            IdempotencyRecord(
                user_key=f"user:{user.id}",
                key=key,
                request_hash=digest(body if key != "k-lost" else [need_row(2)]),
                status_code=status,
                user_id=user.id,
                created_at=at,
            )
        )
        db.session.commit()

    # Pending, young: still "in progress" (its worker may be alive).
    left_behind("k-young", None, utcnow())
    before = _counts()
    resp = client.post(
        URL, json=body, headers={**headers, "Idempotency-Key": "k-young"}
    )
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "idempotency_in_progress"
    assert _counts() == before
    # Pending, stale, never marked: taken over and run.
    left_behind("k-dead", None, stale)
    resp = client.post(URL, json=body, headers={**headers, "Idempotency-Key": "k-dead"})
    assert resp.status_code == 200 and resp.json["summary"]["created"] == 1
    assert "Idempotent-Replayed" not in resp.headers
    again = client.post(
        URL, json=body, headers={**headers, "Idempotency-Key": "k-dead"}
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    # Marked (it committed), answer lost: 409 for good, nothing runs again.
    left_behind("k-lost", 0, stale)
    before = _counts()
    resp = client.post(
        URL, json=[need_row(2)], headers={**headers, "Idempotency-Key": "k-lost"}
    )
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "idempotency_in_progress"
    assert "新的 Idempotency-Key" in resp.json["error"]["message"]
    assert _counts() == before
