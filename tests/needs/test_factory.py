from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.needs.models import Need, NeedStatus


def test_create_need_fixture_encrypts_and_publishes(create_need):
    need = create_need(status="published", amount_fen=300_000)
    assert need.status == NeedStatus.PUBLISHED
    assert need.code.startswith("XQ-22-")
    assert need.published_at is not None
    assert "测试户" not in need.private_ciphertext
    assert db.session.scalar(db.select(db.func.count()).select_from(Need)) == 1
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert actions == ["need.create"]


def test_create_need_fixture_numbers_codes_per_province(create_need):
    first = create_need(status="draft")
    second = create_need(status="draft")
    assert first.code == "XQ-22-000001"
    assert second.code == "XQ-22-000002"
