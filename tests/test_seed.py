"""The demo data and the operators' CLI (docs/product.md)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from charitylink.accounts.models import Role, User
from charitylink.claims.models import Claim, ClaimStatus
from charitylink.extensions import db
from charitylink.funds import ledger
from charitylink.funds.models import Fund
from charitylink.needs.models import Need
from charitylink.seeding import demo, generated


def test_demo_data_has_every_role_and_claims_in_every_state(app, client):
    demo.load_demo(needs_count=60)
    roles = set(db.session.scalars(select(User.role).where(User.active.is_(True))))
    assert {r.value for r in Role} <= {str(r) for r in roles}
    states = set(db.session.scalars(select(Claim.status).distinct()))
    assert {s.value for s in ClaimStatus} <= {str(s) for s in states}
    for fund in db.session.scalars(select(Fund)):
        sums = ledger.sums(fund.id)
        assert sums["donations_fen"] == fund.donations_fen
        assert sums["reserved_fen"] == fund.reserved_fen
        assert sums["available_fen"] == fund.available_fen >= 0
    # beyond cash: a care centre's meals, home care and talks, a volunteer team
    from charitylink.offers.models import Offer
    from charitylink.orgs.models import Organization

    care = db.session.scalars(
        select(Organization).where(Organization.org_type == "care_centre")
    ).one()
    units = {
        o.unit for o in db.session.scalars(select(Offer).where(Offer.org_id == care.id))
    }
    assert units == {"份", "小时", "次"}
    assert db.session.scalar(select(func.count()).where(Offer.kind == "volunteer"))
    # every demo login works with the documented password
    resp = client.post(
        "/login",
        data={
            "email": "mod.jilin@charitylink.example.org",
            "password": "Demo-Pass-2026",
        },
    )
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/mod")


def test_demo_data_is_current_on_the_day_it_is_seeded(app):
    """Dates in the demo are relative to today: projects running, one (and only
    one) with its progress report overdue, open claims and needs ahead of their
    deadlines, some of them this week."""
    from datetime import timedelta

    from charitylink.core.timeutil import as_utc, today, utcnow
    from charitylink.needs.models import NeedStatus
    from charitylink.projects.models import Project, ProjectStatus, ProjectUpdate

    demo.load_demo(needs_count=60)
    day, now = today(), utcnow()
    published = list(
        db.session.scalars(
            select(Project).where(Project.status == ProjectStatus.PUBLISHED)
        ).unique()
    )
    assert len(published) >= 3
    assert [p.title for p in published if p.progress_overdue()] == [
        "大病医疗“救急难”行动"
    ]
    for project in published:
        assert project.start_on <= day < project.end_on, project.title
        assert as_utc(project.published_at) <= now
    for project in db.session.scalars(
        select(Project).where(Project.status == ProjectStatus.SUBMITTED)
    ).unique():
        assert project.start_on > day  # a plan for later, waiting for review
    for update in db.session.scalars(select(ProjectUpdate)):
        assert as_utc(update.created_at) <= now
    reserved = list(
        db.session.scalars(select(Claim).where(Claim.status == ClaimStatus.RESERVED))
    )
    assert reserved and all(c.due_on >= day for c in reserved)
    assert any(c.due_on <= day + timedelta(days=7) for c in reserved)
    for claim in reserved:
        assert as_utc(claim.created_at) <= now
        assert claim.created_at.date() >= claim.due_on - timedelta(days=60)
    open_needs = list(
        db.session.scalars(select(Need).where(Need.status == NeedStatus.PUBLISHED))
    )
    assert all(n.deadline_on is None or n.deadline_on >= day for n in open_needs)
    assert any(
        n.deadline_on and n.deadline_on <= day + timedelta(days=7) for n in open_needs
    )


def test_seed_refuses_a_database_with_data(app, runner, create_org):
    create_org()
    result = runner.invoke(args=["seed"])
    assert result.exit_code != 0
    assert "不是空的" in result.output
    result = runner.invoke(args=["seed", "--if-empty"])
    assert result.exit_code == 0
    assert "跳过" in result.output


def test_generate_needs_bulk_inserts_fictional_needs(app):
    generated.generate_needs(50, batch=20)
    assert db.session.scalar(select(func.count()).select_from(Need)) == 50
    assert not db.session.scalar(
        select(func.count())
        .select_from(Need)
        .where(Need.private_ciphertext.like("%1990000%"))
    )


def test_generated_needs_are_valid_and_searchable_copy_on_postgresql(app, monkeypatch):
    """The bulk path of ``seed --needs``: COPY on PostgreSQL, multi-row INSERT
    on SQLite; either way valid needs (unique codes, JSON columns, the private
    half encrypted and readable with the key) in the search index."""
    from charitylink.needs.privacy import decrypt_household
    from charitylink.search.service import search_needs

    copies: list[int] = []
    real = generated._copy_writer

    def spy():  # type: ignore[no-untyped-def]
        write = real()

        def counted(chunk):  # type: ignore[no-untyped-def]
            copies.append(len(chunk))
            write(chunk)

        return counted

    monkeypatch.setattr(generated, "_copy_writer", spy)
    generated.generate_needs(120, batch=50)

    needs = db.session.scalars(select(Need)).all()
    assert len(needs) == 120 == len({n.code for n in needs})
    if db.engine.dialect.name == "postgresql":
        assert copies == [50, 50, 20]
    else:
        assert copies == []
    n = next(x for x in needs if x.status == "published")
    assert isinstance(n.gov_assistance, list)
    household = decrypt_household(n)
    assert household["name"] and household["id_number"]
    assert household["name"] not in n.private_ciphertext
    assert n.code in {x.code for x in search_needs(n.title, per_page=100).items}


def test_create_user_cli_makes_a_moderator_and_refuses_bad_input(app, runner):
    ok = runner.invoke(
        args=[
            "create-user",
            "--email",
            "m@example.org",
            "--password",
            "a-long-enough-pass",
            "--role",
            "moderator",
            "--region",
            "2201",
        ]
    )
    assert ok.exit_code == 0, ok.output
    user = db.session.scalar(select(User).where(User.email == "m@example.org"))
    assert user.region_prefix == "2201"
    bad = runner.invoke(
        args=[
            "create-user",
            "--email",
            "x@example.org",
            "--password",
            "short",
            "--role",
            "moderator",
            "--region",
            "22",
        ]
    )
    assert bad.exit_code != 0
    assert "密码" in bad.output
    no_region = runner.invoke(
        args=[
            "create-user",
            "--email",
            "y@example.org",
            "--password",
            "a-long-enough-pass",
            "--role",
            "moderator",
        ]
    )
    assert no_region.exit_code != 0
    assert "区划代码前缀" in no_region.output


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ("2", "2、4 或 6 位数字"),  # the pen test's case: all of China's "2x"
        ("220", "2、4 或 6 位数字"),
        ("22010201", "2、4 或 6 位数字"),
        ("22ab", "2、4 或 6 位数字"),
        ("99", "没有以 99 开头的行政区划"),
        ("2299", "没有以 2299 开头的行政区划"),
    ],
)
def test_create_user_cli_checks_the_region_like_the_admin_page(
    app, runner, region, message
):
    resp = runner.invoke(
        args=[
            "create-user",
            "--email",
            "r@example.org",
            "--password",
            "a-long-enough-pass",
            "--role",
            "moderator",
            "--region",
            region,
        ]
    )
    assert resp.exit_code != 0
    assert message in resp.output
    assert db.session.scalar(select(User).where(User.email == "r@example.org")) is None


def test_init_db_is_safe_to_run_again(app, runner):
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0
    assert "0 条" in second.output


def test_search_rebuild_if_missing_builds_once(app, runner, create_need):
    create_need(title="白血病患儿化疗费用缺口")
    first = runner.invoke(args=["search", "rebuild", "--if-missing"])
    assert first.exit_code == 0, first.output
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Whoosh: no index yet, so it is built; PostgreSQL's index is a table
        # kept in step inside each transaction, so it always exists.
        assert "已重建" in first.output
    second = runner.invoke(args=["search", "rebuild", "--if-missing"])
    assert second.exit_code == 0
    assert "跳过" in second.output
    from charitylink.search.service import search_needs

    result = search_needs("白血病")
    assert result.total == 1 and not result.fallback
