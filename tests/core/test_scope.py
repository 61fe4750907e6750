"""The one role model and the one region scope (core/permissions.py).

``covers`` (Python, one object) and ``in_scope`` (SQL, a query) must agree on
every code, on both databases, and ``in_scope`` must stay a form an index serves.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert, select, text

from charitylink.accounts.models import User
from charitylink.core.permissions import (
    NO_REGION,
    Role,
    covers,
    in_scope,
    is_moderator,
    role_of,
    scope_prefix,
)
from charitylink.extensions import db
from charitylink.orgs.models import Organization
from charitylink.regions.models import Region


def moderator(prefix: str | None) -> SimpleNamespace:
    return SimpleNamespace(role="moderator", region_prefix=prefix)


ADMIN = SimpleNamespace(role="admin", region_prefix=None)
PUBLIC = SimpleNamespace()  # Flask-Login's anonymous user has no role

# Codes that share a textual start with a prefix without lying in its region,
# and the edges of each range (digits only, 2 to 12 long).
PROBE_CODES = [
    "22",
    "220",
    "2200",
    "220000",
    "220100",
    "220102",
    "220199",
    "2201999999",
    "220199999999",
    "220200",
    "220201",
    "221",
    "229999",
    "229999999999",
    "23",
    "230000",
    "21",
    "219999999999",
    "2",
    "620102",
    "630000",
    "110101",
]


def test_the_role_enum_is_what_users_store() -> None:
    assert [r.value for r in Role] == ["org_member", "org_admin", "moderator", "admin"]
    assert User.__table__.c.role.type.length >= max(len(r) for r in Role)
    assert role_of(SimpleNamespace(role="admin")) is Role.ADMIN
    assert role_of(PUBLIC) is None
    assert role_of(SimpleNamespace(role="public")) is None
    assert is_moderator(ADMIN) and is_moderator(moderator("22"))
    assert not is_moderator(SimpleNamespace(role=Role.ORG_ADMIN, region_prefix="22"))


@pytest.mark.parametrize(
    ("prefix", "inside", "outside"),
    [
        ("22", ["220102", "220201", "229999", "22"], ["230000", "21", "2", "620102"]),
        ("2201", ["220100", "220102", "220199"], ["220200", "220201", "22", "220"]),
        ("220102", ["220102"], ["220100", "220103", "2201", "22010"]),
    ],
)
def test_covers_by_prefix_length(prefix, inside, outside) -> None:
    user = moderator(prefix)
    assert scope_prefix(user) == prefix
    assert all(covers(user, code) for code in inside)
    assert not any(covers(user, code) for code in outside)


def test_admin_covers_everything_and_others_nothing() -> None:
    assert scope_prefix(ADMIN) is None
    assert covers(ADMIN, "620102") and covers(ADMIN, None)
    nobody = [
        PUBLIC,
        moderator(None),
        moderator(""),
        SimpleNamespace(role="org_admin", region_prefix="22"),
        SimpleNamespace(role="org_member", region_prefix="22"),
    ]
    for user in nobody:
        assert scope_prefix(user) == NO_REGION
        assert not covers(user, "220102")
        assert not covers(user, "")
        assert not covers(user, None)


@pytest.fixture
def probe(app):  # type: ignore[no-untyped-def]
    """A scratch table of codes, so the SQL sees the same codes as Python."""
    table = Table("scope_probe", MetaData(), Column("code", String(12), index=True))
    table.create(db.engine)
    db.session.execute(insert(table), [{"code": c} for c in PROBE_CODES])
    db.session.commit()
    yield table
    db.session.rollback()
    table.drop(db.engine)


USERS = [
    ADMIN,
    PUBLIC,
    moderator(None),
    moderator(""),
    moderator("2"),
    moderator("22"),
    moderator("220"),
    moderator("2201"),
    moderator("22010"),
    moderator("220100"),
    moderator("220102"),
    moderator("229999999999"),
    SimpleNamespace(role="org_admin", region_prefix="22"),
]


@pytest.mark.parametrize("user", USERS, ids=lambda u: f"{u.__dict__}")
def test_sql_scope_selects_exactly_what_covers_accepts(probe, user) -> None:
    rows = set(
        db.session.scalars(select(probe.c.code).where(in_scope(user, probe.c.code)))
    )
    assert rows == {c for c in PROBE_CODES if covers(user, c)}


def test_sql_scope_over_the_real_regions(app) -> None:
    codes = list(db.session.scalars(select(Region.code)))
    assert len(codes) > 100
    for user in (ADMIN, moderator("22"), moderator("2201"), moderator("620102")):
        rows = set(
            db.session.scalars(select(Region.code).where(in_scope(user, Region.code)))
        )
        assert rows == {c for c in codes if covers(user, c)}
        assert rows
    assert not db.session.scalars(
        select(Region.code).where(in_scope(PUBLIC, Region.code))
    ).all()


def test_sql_scope_is_served_by_the_column_index(app, create_org) -> None:
    """A range on the indexed column, never a LIKE the index cannot serve."""
    create_org()
    query = select(Organization.id).where(
        in_scope(moderator("2201"), Organization.region_code)
    )
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(
            str(row[-1])
            for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
        assert (
            "ix_organizations_region_code" in plan
            and "region_code>" in plan.replace(" ", "")
        )
    else:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(
            row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}"))
        )
        assert "ix_organizations_region_code" in plan and "Index Cond" in plan
    assert "LIKE" not in str(compiled).upper()


ROOT = Path(__file__).resolve().parents[2]
ROLE_VALUES = {r.value for r in Role}


def _spelled_out_roles(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and node.value in ROLE_VALUES:
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [v for e in node.elts for v in _spelled_out_roles(e)]
    return []


def test_no_role_is_compared_as_a_string() -> None:
    """Roles are compared against ``Role`` (and templates against the Jinja
    globals), so renaming or adding one is a change in one enum."""
    found = []
    for path in sorted((ROOT / "platform" / "charitylink").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                for side in (node.left, *node.comparators):
                    found += [
                        f"{path.relative_to(ROOT)}:{node.lineno} {v}"
                        for v in _spelled_out_roles(side)
                    ]
    values = "|".join(sorted(ROLE_VALUES))
    in_template = re.compile(r"(==|!=|\bin\b)[^%}]*['\"](" + values + r")['\"]")
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for tag in re.findall(r"{%.*?%}", line):
                if in_template.search(tag):
                    found.append(f"{path.relative_to(ROOT)}:{lineno} {tag}")
    assert found == []
