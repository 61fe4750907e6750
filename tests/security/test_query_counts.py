"""No page's cost grows with the number of rows (no N+1 queries): the SQL
statements a public page sends are counted with 5 rows, then with 50 (more than
a page of 20), and must be the same."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from charitylink.extensions import db
from tests.security.routes import forget_user


@contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _count(client, url: str) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    forget_user()
    client.get(url)  # warm-up: search outbox drain, lazy imports
    forget_user()
    with counting() as statements:
        resp = client.get(url)
    assert resp.status_code == 200, url
    return len(statements), statements


def _add_rows(n, create_project, create_need, create_user, moderator):  # type: ignore[no-untyped-def]
    for i in range(n):
        # A new org and fund for each project: a lazy load per row would show.
        create_project(title=f"帮扶项目{i}")
        create_need(
            entered_by=moderator,
            need_type=("medical", "education", "living")[i % 3],
            amount_fen=100_000 + i * 100,
        )


def test_public_pages_send_the_same_number_of_queries_for_5_and_50_rows(
    app, client, create_project, create_need, create_user
):
    app.config["CACHE_DISABLED"] = True  # count the home page's real work
    moderator = create_user("moderator", region_prefix="22")
    _add_rows(5, create_project, create_need, create_user, moderator)
    from charitylink.funds.models import Fund
    from charitylink.needs.models import Need
    from charitylink.orgs.models import Organization
    from charitylink.projects.models import Project

    def urls() -> list[str]:
        need = db.session.scalars(db.select(Need).order_by(Need.id.desc())).first()
        project = db.session.scalars(
            db.select(Project).order_by(Project.id.desc())
        ).first()
        org = db.session.scalars(
            db.select(Organization).order_by(Organization.id.desc())
        ).first()
        fund = db.session.scalars(db.select(Fund).order_by(Fund.id.desc())).first()
        return [
            "/",
            "/projects",
            f"/projects/{project.id}",
            "/needs",
            "/needs?region=2201&need_type=medical&sort=deadline",
            "/needs?q=医疗",
            f"/needs/{need.code}",
            "/orgs",
            f"/orgs/{org.id}",
            f"/funds/{fund.id}",
            "/transparency",
            "/api/v1/needs",
            "/api/v1/projects",
            "/api/v1/orgs",
        ]

    few = {i: _count(client, url) for i, url in enumerate(urls())}
    _add_rows(45, create_project, create_need, create_user, moderator)
    many = {i: _count(client, url) for i, url in enumerate(urls())}
    grew = [
        f"{urls()[i]}: {few[i][0]} → {many[i][0]} statements"
        for i in few
        if many[i][0] > few[i][0]
    ]
    assert all(n > 0 for n, _s in few.values()), "no statement counted"
    assert not grew, "\n".join(grew)
    # And none is wasteful to begin with.
    heavy = [f"{urls()[i]}: {few[i][0]}" for i in few if few[i][0] > 15]
    assert not heavy, heavy
