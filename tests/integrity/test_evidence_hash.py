"""Evidence files get a content hash on upload; the backfill command hashes
files stored before; the same file on two claims is the evidence_reuse
signal."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from charitylink.claims import services as claims
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.integrity import signals
from tests.factories import org_admin_of


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


def test_same_file_on_two_claims_is_flagged_and_backfill_works(
    create_org, create_fund, create_need, create_user, runner
):  # type: ignore[no-untyped-def]
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    admin = org_admin_of(org)
    made = []
    for image in (_png("red"), _png("red"), _png("blue")):
        need = create_need(amount_fen=10_000)
        claim = claims.claim_need(need, admin, fund, 10_000)
        claims.deliver_claim(
            claim,
            admin,
            10_000,
            today() - timedelta(days=1),
            "goods",
            evidence=("photo.png", image),
        )
        db.session.commit()
        made.append(claim)
    first, second, third = made
    assert first.evidence_sha256 and len(first.evidence_sha256) == 64
    assert first.evidence_sha256 == second.evidence_sha256 != third.evidence_sha256
    mod = create_user("moderator", region_prefix="22")
    [found] = signals.compute(mod, ("evidence_reuse",))
    assert {c.claim_id for c in found.claims} == {first.id, second.id}
    # Hashes lost (as before the column existed): the backfill restores them.
    for claim in made:
        claim.evidence_sha256 = None
    db.session.commit()
    assert signals.compute(mod, ("evidence_reuse",)) == []
    result = runner.invoke(args=["integrity", "hash-evidence"])
    assert result.exit_code == 0 and "已补算 3 个" in result.output
    db.session.expire_all()
    assert len(signals.compute(mod, ("evidence_reuse",))) == 1
