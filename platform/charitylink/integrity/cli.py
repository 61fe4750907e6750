"""``flask --app wsgi integrity …``: the evidence hash backfill and a printout
of the signals (for a cron mail or a check by hand)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

integrity = AppGroup("integrity", help="诚信提示：凭证文件摘要补算、提示列表。")


@integrity.command("hash-evidence")
def hash_evidence() -> None:
    """Compute the content hash of evidence files stored before it was kept."""
    from sqlalchemy import select

    from charitylink.claims import evidence
    from charitylink.claims.models import Claim
    from charitylink.extensions import db

    done = missing = 0
    query = select(Claim).where(
        Claim.evidence_path.is_not(None), Claim.evidence_sha256.is_(None)
    )
    for claim in db.session.scalars(query.order_by(Claim.id)).all():
        digest = evidence.file_sha256(claim.evidence_path or "")
        if digest is None:
            missing += 1
            continue
        claim.evidence_sha256 = digest
        done += 1
        if done % 200 == 0:
            db.session.commit()
    db.session.commit()
    click.echo(f"已补算 {done} 个凭证文件的摘要；{missing} 个文件缺失。")


@integrity.command("signals")
def list_signals() -> None:
    """Print every signal of every region (as an admin sees them)."""
    from types import SimpleNamespace
    from typing import Any, cast

    from charitylink.integrity.signals import compute

    everyone = cast(Any, SimpleNamespace(role="admin", region_prefix=None, id=None))
    found = compute(everyone)
    for signal in found:
        click.echo(f"{signal.id}\t{signal.summary}")
    click.echo(f"共 {len(found)} 条诚信提示。")
