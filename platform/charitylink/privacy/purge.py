"""Retention and purge of the private half (docs/privacy.md).

A need's private half is kept while the need is open and for
``PRIVATE_RETENTION_DAYS`` after it ended (confirmed, withdrawn, expired,
rejected). :func:`purge_due` then erases, for each such need:

- the encrypted household (name, ID number, phone, address, township, notes):
  ``private_ciphertext`` becomes :data:`PURGED` (the column stays NOT NULL);
- the monitoring platform's id (``external_id``), which points at the person
  in another system;
- the delivery and dispute-response evidence files of its claims (photos taken
  at the household: we cannot tell which show people, so all of them go, with
  the uploader's file names); the content hash stays for the integrity record;
- its consent records' signed forms and guardians' names;

and, once no need of the household is within retention, replaces the
household key on all of them by one random placeholder (so figures counting
distinct households stay the same, but nothing links back to the ID number).

It also erases the contact a complainant left, ``COMPLAINT_CONTACT_RETENTION_DAYS``
after the complaint was resolved (:func:`erase_complaint_contacts`; the rule
is read from the complaint's own row, so a run after a restore erases them
again without a log).

Public halves, claims, money, the ledger and audit rows stay. Every erasure
writes a :class:`PurgeLog` row and a line in the purge log file, both holding
the need code and the kinds erased, never the data; ``replay_log`` re-applies
the file after a restore from an older backup.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text, update

from charitylink.core import audit
from charitylink.core.timeutil import as_utc, utcnow
from charitylink.extensions import db
from charitylink.needs.models import Need, NeedStatus

# What ``private_ciphertext`` holds once erased: not a cipher token, so nothing
# ever tries to decrypt it (needs.privacy.decrypt_household answers {}).
PURGED = "purged"
# Household keys replaced by the purge start with this (then 32 random hex).
PURGED_KEY_PREFIX = "purged-"
ENDED_STATUSES = (
    NeedStatus.CONFIRMED,
    NeedStatus.WITHDRAWN,
    NeedStatus.EXPIRED,
    NeedStatus.REJECTED,
)
# The tables an erasure rewrites: vacuumed on PostgreSQL afterwards, so the
# old row versions (dead tuples) do not keep the erased bytes.
TOUCHED_TABLES = (
    "needs",
    "claims",
    "consents",
    "privacy_requests",
    "complaints",
    # The report tables keyed by household (charitylink.reports.summary).
    "report_household_cells",
    "report_assistance_cells",
    "report_delivery_cells",
    "report_org_households",
)
_SAFE_FILE = re.compile(r"[A-Za-z0-9_-]{8,64}(\.[A-Za-z0-9]{1,8}){0,2}")

KIND_HOUSEHOLD = "household"
KIND_EXTERNAL_ID = "external_id"
KIND_EVIDENCE = "evidence"
KIND_CONSENT_FORMS = "consent_forms"
KIND_GUARDIAN_NAMES = "guardian_names"
KIND_HOUSEHOLD_KEY = "household_key"


def is_purged(need: Need) -> bool:
    return need.purged_at is not None or need.private_ciphertext == PURGED


def retention_days() -> int:
    return int(current_app.config.get("PRIVATE_RETENTION_DAYS", 1095))


def _naive(value: datetime) -> datetime:
    # Columns are naive UTC on SQLite and aware-less DateTime on PostgreSQL.
    return as_utc(value).replace(tzinfo=None)


def ended_at(need: Need) -> datetime | None:
    """When the need ended (its retention clock's start), None while open."""
    if need.status not in ENDED_STATUSES:
        return None
    moment = need.closed_at or need.updated_at
    return as_utc(moment) if moment else None


def retained_until(need: Need) -> datetime | None:
    end = ended_at(need)
    return None if end is None else end + timedelta(days=retention_days())


def _open_claim_need_ids(need_ids: list[int]) -> set[int]:
    """Needs whose claims are still being handled: a reserved or delivered
    claim, or a dispute. The private half is needed there (the contact, the
    follow-up visit), so they wait for the next run."""
    from charitylink.claims.models import Claim, ClaimStatus

    if not need_ids:
        return set()
    held = (ClaimStatus.RESERVED, ClaimStatus.DELIVERED, ClaimStatus.DISPUTED)
    rows = db.session.scalars(
        select(Claim.need_id)
        .where(Claim.need_id.in_(need_ids), Claim.status.in_(held))
        .distinct()
    )
    return set(rows)


def due_needs(now: datetime) -> tuple[list[Need], list[Need]]:
    """(needs to purge now, needs past retention but held by an open claim)."""
    cutoff = _naive(now) - timedelta(days=retention_days())
    moment = func.coalesce(Need.closed_at, Need.updated_at)
    candidates = list(
        db.session.scalars(
            select(Need)
            .where(
                Need.purged_at.is_(None),
                Need.status.in_(ENDED_STATUSES),
                moment <= cutoff,
            )
            .order_by(Need.id)
        )
    )
    held_ids = _open_claim_need_ids([n.id for n in candidates])
    return (
        [n for n in candidates if n.id not in held_ids],
        [n for n in candidates if n.id in held_ids],
    )


def _shred(path: Path) -> bool:
    """Overwrite a file with zeros, then remove it."""
    if not path.is_file():
        return False
    try:
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError:
        pass
    path.unlink(missing_ok=True)
    return True


def _upload_file(folder: str, stored: str | None) -> Path | None:
    # Only names the platform gave (random, no separators) are ever opened.
    if not stored or not _SAFE_FILE.fullmatch(stored):
        return None
    return Path(current_app.config["UPLOAD_DIR"]) / folder / stored


def _what_would_go(need: Need) -> list[str]:
    from charitylink.claims.models import Claim
    from charitylink.privacy.models import Consent

    kinds = []
    if need.private_ciphertext != PURGED:
        kinds.append(KIND_HOUSEHOLD)
    if need.external_id:
        kinds.append(KIND_EXTERNAL_ID)
    evidence = db.session.scalar(
        select(func.count())
        .select_from(Claim)
        .where(
            Claim.need_id == need.id,
            (Claim.evidence_path.is_not(None))
            | (Claim.response_evidence_path.is_not(None))
            | (Claim.evidence_name.is_not(None))
            | (Claim.response_evidence_name.is_not(None)),
        )
    )
    if evidence:
        kinds.append(KIND_EVIDENCE)
    consents = db.session.execute(
        select(
            func.count(Consent.form_path) + func.count(Consent.form_name),
            func.count(Consent.guardian_name_ciphertext),
        ).where(Consent.need_id == need.id)
    ).one()
    if consents[0]:
        kinds.append(KIND_CONSENT_FORMS)
    if consents[1]:
        kinds.append(KIND_GUARDIAN_NAMES)
    return kinds


def erase_private(
    need: Need,
    *,
    now: datetime | None = None,
    cause: str = "retention",
    actor: Any = None,
    request_id: int | None = None,
    reason: str = "保存期限届满，隐私信息已清除",
) -> list[str]:
    """Erase one need's private half, its people's files and consent forms.

    The one erase function: the nightly purge, a person's deletion request
    and the replay after a restore all call it. Flushes; never commits.
    Returns the kinds erased ([] when there was nothing left)."""
    from charitylink.claims.models import Claim
    from charitylink.privacy.models import Consent
    from charitylink.privacy.purge_models import PurgeLog

    moment = _naive(now or utcnow())
    kinds = _what_would_go(need)
    files: list[Path] = []
    for claim in db.session.scalars(select(Claim).where(Claim.need_id == need.id)):
        for stored in (claim.evidence_path, claim.response_evidence_path):
            path = _upload_file("evidence", stored)
            if path is not None:
                files.append(path)
        claim.evidence_path = claim.evidence_name = claim.evidence_mime = None
        claim.response_evidence_path = None
        claim.response_evidence_name = claim.response_evidence_mime = None
    for consent in db.session.scalars(
        select(Consent).where(Consent.need_id == need.id)
    ):
        path = _upload_file("consents", consent.form_path)
        if path is not None:
            files.append(path)
        consent.form_path = consent.form_name = consent.form_mime = None
        consent.guardian_name_ciphertext = None
    already = need.purged_at is not None
    need.private_ciphertext = PURGED
    need.external_id = None
    if not already:
        need.purged_at = moment
    if kinds or not already:
        db.session.add(
            PurgeLog(
                need_code=need.code,
                purged_at=moment,
                cause=cause,
                kinds=kinds,
                request_id=request_id,
            )
        )
        audit.record(actor, "need.purge", need, reason=reason)
        _append_log_file(need.code, moment, cause, kinds)
    db.session.flush()
    # Files go once the rows no longer name them; a rollback after this point
    # leaves rows naming missing files, which every page already copes with.
    for path in files:
        _shred(path)
    return kinds if (kinds or not already) else []


def release_household_keys(
    keys: Iterable[str], *, now: datetime | None = None, cause: str = "retention"
) -> int:
    """Replace each household key no unpurged need still uses by a random
    placeholder (on its needs and its requests). Returns how many went."""
    from charitylink.privacy.purge_models import PrivacyRequest, PurgeLog

    moment = _naive(now or utcnow())
    released = 0
    for key in sorted(set(keys)):
        if not key or key.startswith(PURGED_KEY_PREFIX):
            continue
        still_kept = db.session.scalar(
            select(func.count())
            .select_from(Need)
            .where(Need.household_key == key, Need.purged_at.is_(None))
        )
        if still_kept:
            continue
        placeholder = PURGED_KEY_PREFIX + secrets.token_hex(16)
        codes = list(
            db.session.scalars(select(Need.code).where(Need.household_key == key))
        )
        db.session.execute(
            update(Need)
            .where(Need.household_key == key)
            .values(household_key=placeholder),
            execution_options={"synchronize_session": "fetch"},
        )
        db.session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.household_key == key)
            .values(household_key=placeholder),
            execution_options={"synchronize_session": "fetch"},
        )
        for code in codes:
            db.session.add(
                PurgeLog(
                    need_code=code,
                    purged_at=moment,
                    cause=cause,
                    kinds=[KIND_HOUSEHOLD_KEY],
                )
            )
            _append_log_file(code, moment, cause, [KIND_HOUSEHOLD_KEY])
        released += 1
    db.session.flush()
    return released


def _due_complaint_ids(now: datetime) -> list[int]:
    from charitylink.complaints.models import (
        CONTACT_PURGED,
        Complaint,
        ComplaintStatus,
    )

    days = int(current_app.config.get("COMPLAINT_CONTACT_RETENTION_DAYS", 180))
    cutoff = _naive(now) - timedelta(days=days)
    return list(
        db.session.scalars(
            select(Complaint.id)
            .where(
                Complaint.status == ComplaintStatus.RESOLVED,
                Complaint.resolved_at <= cutoff,
                Complaint.contact_ciphertext.is_not(None),
                Complaint.contact_ciphertext != "",
                Complaint.contact_ciphertext != CONTACT_PURGED,
            )
            .order_by(Complaint.id)
        )
    )


def erase_complaint_contacts(now: datetime, *, dry_run: bool = False) -> int:
    """Erase the contact of every complaint resolved more than
    ``COMPLAINT_CONTACT_RETENTION_DAYS`` before ``now`` (audited, one row
    each). Flushes; never commits. Returns how many went (would go)."""
    from charitylink.complaints.models import CONTACT_PURGED, Complaint

    ids = _due_complaint_ids(now)
    if dry_run:
        return len(ids)
    for complaint_id in ids:
        complaint = db.session.get_one(Complaint, complaint_id)
        complaint.contact_ciphertext = CONTACT_PURGED
        audit.record(
            None,
            "complaint.purge_contact",
            complaint,
            reason="保存期限届满，举报人联系方式已清除",
        )
    db.session.flush()
    return len(ids)


@dataclass
class PurgeResult:
    purged: list[tuple[str, list[str]]] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    keys_released: int = 0
    complaint_contacts: int = 0


def purge_due(
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    on_each: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> PurgeResult:
    """Erase every private half past retention (see the module docstring).

    Idempotent: a purged need is never picked again; safe to run daily.
    ``on_each`` (a commit) runs after each need, so a long run holds no locks
    for long and an interruption loses nothing done; ``progress`` is told
    the number of needs handled (a progress bar)."""
    moment = now or utcnow()
    due, held = due_needs(moment)
    result = PurgeResult(held=[n.code for n in held])
    if dry_run:
        result.purged = [(n.code, _what_would_go(n)) for n in due]
        result.complaint_contacts = erase_complaint_contacts(moment, dry_run=True)
        return result
    keys = []
    for need in due:
        keys.append(need.household_key)
        kinds = erase_private(need, now=moment)
        result.purged.append((need.code, kinds))
        if on_each:
            on_each()
        if progress:
            progress(1)
    # Households whose needs were all purged earlier but whose key stayed
    # (a need was still within retention then) are caught here too.
    leftovers = db.session.scalars(
        select(Need.household_key)
        .where(
            Need.purged_at.is_not(None),
            ~Need.household_key.startswith(PURGED_KEY_PREFIX),
        )
        .distinct()
    )
    keys.extend(leftovers)
    result.keys_released = release_household_keys(keys, now=moment)
    result.complaint_contacts = erase_complaint_contacts(moment)
    if on_each:
        on_each()
    return result


def scrub_storage() -> None:
    """After a committed purge: make the database drop the old bytes.

    SQLite runs with ``secure_delete`` (freed space zeroed); the WAL still
    holds older page images until a checkpoint, so it is checkpointed and
    truncated. PostgreSQL keeps old row versions until VACUUM: the touched
    tables are vacuumed (outside a transaction)."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in TOUCHED_TABLES:
                conn.execute(text(f"VACUUM (ANALYZE) {table}"))


# --------------------------------------------------------------------------
# The purge log file (outside the database, for restores)


def log_file() -> Path:
    return Path(current_app.config["PURGE_LOG_FILE"])


def _append_log_file(code: str, moment: datetime, cause: str, kinds: list[str]) -> None:
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {
            "need": code,
            "at": moment.replace(tzinfo=UTC).isoformat(),
            "cause": cause,
            "kinds": kinds,
        },
        ensure_ascii=False,
    )
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def read_log_file(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or log_file()
    if not path.is_file():
        return []
    entries = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("need"), str):
                entries.append(entry)
    return entries


def replay_log(
    path: Path | None = None, *, now: datetime | None = None, dry_run: bool = False
) -> list[str]:
    """Re-apply every erasure in the purge log file that the database no
    longer shows (a restore from a backup taken before it). Returns the
    codes of the needs erased again."""
    moment = now or utcnow()
    redone: list[str] = []
    keys: list[str] = []
    codes = []
    for entry in read_log_file(path):
        if entry["need"] not in codes:
            codes.append(entry["need"])
    key_codes = {
        e["need"]
        for e in read_log_file(path)
        if KIND_HOUSEHOLD_KEY in e.get("kinds", [])
    }
    for code in codes:
        need = db.session.scalar(select(Need).where(Need.code == code))
        if need is None:
            continue
        if need.purged_at is None or need.private_ciphertext != PURGED:
            redone.append(code)
            if not dry_run:
                erase_private(
                    need,
                    now=moment,
                    cause="replay",
                    reason="按清除记录重新清除（恢复备份后）",
                )
        if code in key_codes and not need.household_key.startswith(PURGED_KEY_PREFIX):
            keys.append(need.household_key)
            if code not in redone:
                redone.append(code)
    if keys and not dry_run:
        release_household_keys(keys, now=moment, cause="replay")
    return redone
