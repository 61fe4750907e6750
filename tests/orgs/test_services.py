"""orgs.services: registration rules, the status machine, members. State AND audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charitylink.accounts.models import Role, User
from charitylink.accounts.services import authenticate
from charitylink.errors import (
    Conflict,
    InvalidTransition,
    NotAllowed,
    ValidationFailed,
)
from charitylink.extensions import db
from charitylink.orgs import services
from charitylink.orgs.models import Organization, OrgStatus
from tests.factories import org_admin_of
from tests.orgs.conftest import audit_rows, registration, uscc


def test_register_creates_pending_org_and_its_admin(app):
    org, admin = services.register_org(registration())
    db.session.commit()
    assert org.status == OrgStatus.PENDING
    assert admin.role == Role.ORG_ADMIN and admin.org_id == org.id
    assert authenticate(admin.email, "a-long-enough-secret") is not None
    [event] = audit_rows("org.register", org.id)
    assert event.to_status == "pending" and event.region_code == "220102"
    assert event.actor_id == admin.id
    assert audit_rows("user.create", admin.id)


def test_register_normalises_lowercase_credit_code(app):
    code = uscc("53220100MJ000004A")
    org, _ = services.register_org(registration(uscc=code.lower()))
    assert org.uscc == code


def test_register_names_every_bad_field(app):
    with pytest.raises(ValidationFailed) as err:
        services.register_org(
            registration(
                name="",
                uscc="123",
                org_type="company",
                region_code="999999",
                contact_phone="12",
                admin_email="not-an-email",
                admin_name="",
                admin_password="short",
            )
        )
    fields = err.value.fields
    assert set(fields) >= {
        "name",
        "uscc",
        "org_type",
        "region_code",
        "contact_phone",
        "admin_email",
        "admin_name",
        "admin_password",
    }
    assert "18位" in fields["uscc"]
    assert "10" in fields["admin_password"]
    assert db.session.scalar(select(Organization.id)) is None


def test_register_refuses_duplicate_name_and_code(app):
    first, _ = services.register_org(registration())
    db.session.commit()
    with pytest.raises(Conflict) as err:
        services.register_org(registration(name=first.name))
    assert "同名" in err.value.fields["name"]
    with pytest.raises(Conflict) as err:
        services.register_org(registration(uscc=first.uscc.lower()))
    assert "已被注册" in err.value.fields["uscc"]


def test_register_with_a_taken_admin_email_creates_nothing_and_says_so_to_nobody(
    app, create_user
):
    # No account enumeration: no error; the caller answers as for a new e-mail.
    user = create_user("moderator")
    hash_before = user.password_hash
    data = registration(admin_email=user.email.upper())
    result = services.register_org(data)
    db.session.commit()
    assert result.org is None and result.user is None
    fresh = services.register_org(registration()).submitted
    db.session.rollback()
    assert set(result.submitted) == set(fresh)
    assert result.submitted["name"] == data["name"]
    assert result.submitted["status"] == "pending"
    assert (
        db.session.scalar(
            select(Organization.id).where(Organization.name == data["name"])
        )
        is None
    )
    db.session.refresh(user)
    assert user.password_hash == hash_before and user.role == Role.MODERATOR
    assert audit_rows("org.register") == []


def test_non_civil_affairs_code_is_accepted_with_a_warning(app):
    org, _ = services.register_org(registration(uscc=uscc("91220100MA0000001")))
    assert org.status == OrgStatus.PENDING
    assert "不是民政部门登记" in services.uscc_warning(org)
    civil, _ = services.register_org(registration())
    assert services.uscc_warning(civil) is None


# ------------------------------------------------------------ status machine

ALLOWED = [
    ("pending", "verify", "verified"),
    ("pending", "reject", "rejected"),
    ("verified", "suspend", "suspended"),
    ("suspended", "reinstate", "verified"),
]
ALL_ACTIONS = ("verify", "reject", "suspend", "reinstate")


def _act(action, org, moderator):  # type: ignore[no-untyped-def]
    fn = getattr(services, f"{action}_org")
    if action in ("reject", "suspend"):
        return fn(org, moderator, "材料不全")
    return fn(org, moderator)


@pytest.mark.parametrize(("start", "action", "end"), ALLOWED)
def test_allowed_transition_changes_state_and_is_audited(
    app, create_org, create_user, start, action, end
):
    org = create_org(status=start)
    moderator = create_user("moderator", region_prefix="2201")
    _act(action, org, moderator)
    db.session.commit()
    assert org.status == end
    [event] = audit_rows(f"org.{action}", org.id)
    assert (event.from_status, event.to_status) == (start, end)
    assert event.actor_id == moderator.id
    if action in ("reject", "suspend"):
        assert event.reason == "材料不全" and org.status_reason == "材料不全"
    if action == "verify":
        assert org.verified_at is not None


@pytest.mark.parametrize(
    ("start", "action"),
    [
        (s, a)
        for s in ("pending", "verified", "rejected", "suspended")
        for a in ALL_ACTIONS
        if (s, a) not in {(x, y) for x, y, _ in ALLOWED}
    ],
)
def test_forbidden_transition_is_refused_and_changes_nothing(
    app, create_org, create_user, start, action
):
    org = create_org(status=start)
    moderator = create_user("moderator", region_prefix="22")
    with pytest.raises(InvalidTransition):
        _act(action, org, moderator)
    db.session.rollback()
    assert db.session.get(Organization, org.id).status == start
    assert audit_rows(f"org.{action}", org.id) == []


def test_moderator_outside_region_cannot_verify(app, create_org, create_user):
    org = create_org(status="pending", region_code="220102")
    outsider = create_user("moderator", region_prefix="6201")
    with pytest.raises(NotAllowed):
        services.verify_org(org, outsider)
    assert org.status == OrgStatus.PENDING


def test_org_admin_cannot_verify_own_org(app, create_org):
    org = create_org(status="pending")
    with pytest.raises(NotAllowed):
        services.verify_org(org, org_admin_of(org))


@pytest.mark.parametrize("reason", ["", "   ", None, 42, "x" * 501])
def test_reject_needs_a_reason(app, create_org, create_user, reason):
    org = create_org(status="pending")
    with pytest.raises(ValidationFailed) as err:
        services.reject_org(org, create_user("moderator"), reason)
    assert "reason" in err.value.fields
    assert org.status == OrgStatus.PENDING


def test_admin_acts_on_any_region(app, create_org, create_user):
    org = create_org(status="pending", region_code="110101")
    services.verify_org(org, create_user("admin"))
    assert org.status == OrgStatus.VERIFIED


# ------------------------------------------------------------ profile, members


def test_update_profile_changes_only_public_fields_and_audits(app, create_org):
    org = create_org()
    admin = org_admin_of(org)
    services.update_profile(
        org,
        admin,
        {"description": "新简介", "contact_phone": "13900001111", "name": "改名"},
    )
    db.session.commit()
    assert org.description == "新简介" and org.contact_phone == "13900001111"
    assert org.name.startswith("测试慈善基金会")
    [event] = audit_rows("org.update_profile", org.id)
    assert "description" in event.reason


def test_member_cannot_update_profile(app, create_org, create_user):
    org = create_org()
    member = create_user("org_member", org=org)
    with pytest.raises(NotAllowed):
        services.update_profile(org, member, {"description": "x"})


def test_add_member_and_deactivate_ends_its_sessions(app, create_org):
    org = create_org()
    admin = org_admin_of(org)
    member = services.add_member(
        org,
        admin,
        email="staff@example.org",
        name="小王",
        password="another-long-secret",
        role="org_member",
    )
    db.session.commit()
    version = member.session_version
    services.deactivate_member(org, admin, member)
    db.session.commit()
    assert not member.active and member.session_version == version + 1
    assert authenticate("staff@example.org", "another-long-secret") is None
    [event] = audit_rows("user.deactivate", member.id)
    assert event.org_id == org.id and event.to_status == "inactive"


@pytest.mark.parametrize("role", ["moderator", "admin", "boss"])
def test_add_member_refuses_other_roles(app, create_org, role):
    org = create_org()
    with pytest.raises(ValidationFailed) as err:
        services.add_member(
            org,
            org_admin_of(org),
            email="x@example.org",
            name="x",
            password="another-long-secret",
            role=role,
        )
    assert "role" in err.value.fields


def test_admin_of_other_org_cannot_add_member(app, create_org):
    org_a, org_b = create_org(), create_org()
    with pytest.raises(NotAllowed):
        services.add_member(
            org_a,
            org_admin_of(org_b),
            email="x@example.org",
            name="x",
            password="another-long-secret",
        )


def test_cannot_deactivate_yourself_or_the_last_admin(app, create_org, create_user):
    org = create_org()
    admin = org_admin_of(org)
    with pytest.raises(NotAllowed, match="自己"):
        services.deactivate_member(org, admin, admin)
    second = create_user("org_admin", org=org)
    services.deactivate_member(org, second, admin)  # two admins: allowed
    db.session.commit()
    third = create_user("org_admin", org=org)
    services.deactivate_member(org, third, second)
    db.session.commit()
    # ``third`` is now the last active admin: a co-admin may not remove it.
    fourth = create_user("org_admin", org=org, active=False)
    with pytest.raises(NotAllowed):
        services.deactivate_member(org, fourth, third)
    assert db.session.get(User, third.id).active
