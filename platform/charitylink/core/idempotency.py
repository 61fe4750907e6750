"""``Idempotency-Key`` on every POST of the API (docs/integration.md): the record
and the hooks the API blueprint registers. It lives in ``core`` because it
wraps every endpoint's transaction with its own short ones (the only commits
around a request besides ``core.transaction``).

Semantics (draft-ietf-httpapi-idempotency-key-header, as Stripe does it):

- same key, same body, same caller → the first response (status and body) is
  replayed with ``Idempotent-Replayed: true`` and nothing changes;
- same key, another body → 422 ``idempotency_key_reused``;
- same key while the first request is still running → 409
  ``idempotency_in_progress``;
- a malformed key (empty, over 255 characters, not printable ASCII) → 400.

The key is claimed by inserting a *pending* record in its own committed
transaction before the endpoint runs (so two concurrent requests cannot both
run: the second hits the unique constraint), and the response is stored when
the endpoint returns. The endpoint's first commit also marks the record
(``status_code`` 0, in that same transaction), so the record always tells
whether the request changed anything:

- a 5xx answer or an escaped exception before any commit deletes the record,
  so the client may retry with the same key;
- a record still pending (never marked) after ``IDEMPOTENCY_STALE_SECONDS``
  belongs to a worker or node that died before changing anything: the next
  request with the key takes it over and runs;
- a marked record whose response was never stored (the worker died, or the
  endpoint failed, after committing) answers 409 for good: the change is
  saved, its answer is not, so the client checks the object and uses a new
  key rather than risk doing it twice. Keys are scoped per caller (``user:<id>``). Only an
authenticated caller gets a record: an anonymous POST ignores the header, so
nobody can fill the table without a token, and authentication is answered
before anything about the key (a 401 comes before a 400 or 422). ``POST
/tokens`` is exempt: its response carries a raw token, which must never be
stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy import (
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from charitylink.core import jsonbody
from charitylink.core.i18n import _
from charitylink.core.timeutil import utcnow
from charitylink.errors import error_envelope
from charitylink.extensions import Model, db


class IdempotencyRecord(Model):
    """The first response to a POST carrying ``Idempotency-Key``."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_key", "key", name="user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "user:<id>": only authenticated calls get a record.
    user_key: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    # None: pending, nothing committed; COMMITTED: the endpoint committed, its
    # answer not stored yet; else the answer's status.
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


HEADER = "Idempotency-Key"
COMMITTED = 0
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# Their answers hold a secret shown once (a token, a webhook's signing key):
# never kept in an idempotency record.
EXEMPT_ENDPOINTS = {"api_v1.create_token", "api_v1.create_webhook"}
# POSTs the public may make: a malformed key is refused there as anywhere, but
# an anonymous caller's key is never stored.
ANONYMOUS_ENDPOINTS = {"api_v1.register_org", "api_v1.submit_complaint"}


def _request_hash() -> str:
    raw = request.get_data(cache=True)
    try:
        # Same JSON with other whitespace or key order is the same request.
        canonical = json.dumps(
            jsonbody.loads(raw),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
    except ValueError:  # jsonbody refuses what cannot be re-encoded, too
        canonical = raw
    # Keyed: a body may hold a household's ID number, whose few unknown digits
    # a plain SHA-256 of an otherwise known body would give away to guessing.
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(b"idempotency\0" + secret, digestmod=hashlib.sha256)
    digest.update(f"{request.method} {request.path}?{request.query_string!r}".encode())
    digest.update(b"\0")
    digest.update(canonical)
    return digest.hexdigest()


def _error(status: int, code: str, message: str) -> Response:
    resp, _status = error_envelope(status, code, message, {HEADER: message})
    resp.status_code = status
    return resp


def before_request() -> Response | None:
    if request.method != "POST" or request.endpoint in EXEMPT_ENDPOINTS:
        return None
    key = request.headers.get(HEADER)
    user = g.get("api_user")
    if key is None:
        return None
    if not _KEY.fullmatch(key) and (
        user is not None or request.endpoint in ANONYMOUS_ENDPOINTS
    ):
        return _error(
            400,
            "bad_request",
            _("Idempotency-Key 应为 1 到 255 个可打印 ASCII 字符（建议使用 UUID）。"),
        )
    if user is None:
        # Anonymous: the endpoint answers (401, or registration's own answer);
        # no record, so rejected requests cannot grow the table.
        return None
    user_key = f"user:{user.id}"
    digest = _request_hash()
    for attempt in (1, 2):
        record = IdempotencyRecord(
            user_key=user_key, key=key, request_hash=digest, user_id=user.id
        )
        db.session.add(record)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if attempt == 1 and _take_over_stale(user_key, key):
                continue
            return _existing(user_key, key, digest)
        break
    g.idempotency_record_id = record.id
    return None


def _take_over_stale(user_key: str, key: str) -> bool:
    """Delete the key's record if it is still pending, unmarked, after
    IDEMPOTENCY_STALE_SECONDS: its request died before committing anything
    (a live request's first commit marks it). True if one went."""
    from datetime import timedelta

    seconds = int(current_app.config.get("IDEMPOTENCY_STALE_SECONDS", 600))
    result: Any = db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_key == user_key,
            IdempotencyRecord.key == key,
            IdempotencyRecord.status_code.is_(None),
            IdempotencyRecord.created_at < utcnow() - timedelta(seconds=seconds),
        )
    )
    db.session.commit()
    return bool(result.rowcount)


def _mark_committed(session: Session) -> None:
    """``before_commit`` of every session: inside a request that holds a key,
    each commit also marks the record, in the same transaction. Not a
    savepoint's release (its outer transaction may still roll back), and
    every commit, not the first only: a commit that fails takes its mark
    with it, and the statement changes nothing once the mark is there."""
    from flask import has_request_context

    if not has_request_context() or session.in_nested_transaction():
        return
    record_id = g.get("idempotency_record_id")
    if record_id is None:
        return
    session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record_id, IdempotencyRecord.status_code.is_(None)
        )
        .values(status_code=COMMITTED)
    )


def _existing(user_key: str, key: str, digest: str) -> Response:
    record = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_key == user_key, IdempotencyRecord.key == key
        )
    )
    if record is None:  # deleted meanwhile (a 5xx): ask for a retry
        return _error(
            409, "idempotency_in_progress", _("相同 Idempotency-Key 的请求正在处理。")
        )
    if record.request_hash != digest:
        return _error(
            422,
            "idempotency_key_reused",
            _("该 Idempotency-Key 已用于另一个请求体；新的请求请使用新的键。"),
        )
    if record.status_code is None:
        return _error(
            409,
            "idempotency_in_progress",
            _("相同 Idempotency-Key 的请求仍在处理中，请稍后重试。"),
        )
    if record.status_code == COMMITTED:
        return _error(
            409,
            "idempotency_in_progress",
            _(
                "相同 Idempotency-Key 的请求已保存了更改，但未能保存应答："
                "请先查询相关对象的状态，再用新的 Idempotency-Key 重试。"
            ),
        )
    resp = Response(
        record.response_body or "",
        status=record.status_code,
        mimetype="application/json",
    )
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def after_request(response: Response) -> Response:
    record_id = g.pop("idempotency_record_id", None)
    if record_id is None:
        return response
    # Whatever the endpoint left in the session is settled; this is a new txn.
    db.session.rollback()
    if response.status_code >= 500:
        _free_unless_committed(record_id)
    else:
        db.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(
                status_code=response.status_code,
                response_body=response.get_data(as_text=True),
            )
        )
    db.session.commit()
    return response


def teardown(exc: BaseException | None) -> None:
    # An exception escaped every handler: free the key so a retry can run.
    record_id = g.pop("idempotency_record_id", None)
    if record_id is None or exc is None:
        return
    db.session.rollback()
    _free_unless_committed(record_id)
    db.session.commit()


def _free_unless_committed(record_id: int) -> None:
    # A request that committed something keeps its mark: a retry must not
    # do it again.
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.id == record_id, IdempotencyRecord.status_code.is_(None)
        )
    )


def register(bp: Blueprint) -> None:
    """Hook the checks onto the API blueprint (after authentication)."""
    bp.before_request(before_request)
    bp.after_request(after_request)
    bp.teardown_request(teardown)
    if not event.contains(Session, "before_commit", _mark_committed):
        event.listen(Session, "before_commit", _mark_committed)


def prune(older_than_days: int = 30) -> int:
    """Delete stored responses older than ``older_than_days`` (for a cron job)."""
    from datetime import timedelta

    result: Any = db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < utcnow() - timedelta(days=older_than_days)
        )
    )
    return int(result.rowcount or 0)
