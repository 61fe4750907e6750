"""Need codes name the province only; old per-county codes resolve for moderators
only; ``external_id`` is scanned and never public."""

from __future__ import annotations

import re

from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from charitylink.accounts.models import Role, User
from charitylink.extensions import db
from charitylink.needs.models import PUBLIC_STATUSES, Need
from charitylink.search.documents import need_document
from charitylink.seeding import demo
from tests.imports.rows import need_row
from tests.needs.conftest import CANARY_ID, valid_input

PUBLIC_CODE = re.compile(r"^XQ-\d{2}-\d{6}$")
# Any code finer than the province: "XQ-" and more than two digits.
COUNTY_CODE = re.compile(r"XQ-\d{3,}")


def _public_needs() -> list[Need]:
    statuses = [s.value for s in PUBLIC_STATUSES]
    return list(db.session.scalars(select(Need).where(Need.status.in_(statuses))))


def test_demo_public_needs_carry_only_their_province(app, client, login_as):
    """The canary: on demo-like data, nothing the public or an org receives
    holds a need code finer than the province (nor an external id)."""
    demo.load_demo(needs_count=90)
    public = _public_needs()
    coarsened = [n for n in public if n.public_region_code != n.region_code]
    assert coarsened, "demo data should include needs of coarsened counties"
    for need in public:
        assert PUBLIC_CODE.match(need.code), need.code
        assert need.code[3:5] == need.region_code[:2]
        assert need.region_code not in need.code
    externals = {n.external_id for n in public if n.external_id}
    assert externals  # the demo fills them: they must stay out of everything below

    bodies: dict[str, str] = {}
    for page in (1, 2, 3, 4, 5):
        bodies[f"/needs?page={page}"] = client.get(f"/needs?page={page}").text
        url = f"/api/v1/needs?per_page=100&page={page}"
        bodies[url] = client.get(url).text
    for query in (
        "/needs?q=医疗",
        "/api/v1/needs?q=医疗&per_page=100",
        "/api/v1/needs?q=XQ",
    ):
        bodies[query] = client.get(query).text
    for need in coarsened:
        for url in (f"/needs/{need.code}", f"/api/v1/needs/{need.code}"):
            resp = client.get(url)
            assert resp.status_code == 200, url
            bodies[url] = resp.text
        doc = need_document(need)
        assert doc is not None
        bodies[f"search document {need.id}"] = repr(doc)
    for admin in db.session.scalars(select(User).where(User.role == Role.ORG_ADMIN)):
        org = login_as(admin)
        for url in (
            "/org/exports/claims.csv",
            "/org/exports/ledger.csv",
            "/org/claims",
        ):
            resp = org.get(url)
            assert resp.status_code == 200, url
            bodies[f"{admin.email} {url}"] = resp.get_data(as_text=True)
    client.get("/logout")
    shown = 0
    for where, body in bodies.items():
        assert not COUNTY_CODE.search(body), (where, COUNTY_CODE.search(body))
        for ext in externals:
            assert ext not in body, (where, ext)
        assert '"external_id"' not in body, where
        shown += len(re.findall(r"XQ-\d{2}-\d{6}", body))
    assert shown > len(coarsened)  # the pages really showed codes


def test_codes_are_numbered_per_province_across_counties(create_need, create_user):
    gansu = create_user("moderator", region_prefix="62")
    first = create_need(region_code="220102")
    second = create_need(region_code="220523")
    third = create_need(region_code="620102", entered_by=gansu)
    assert (first.code, second.code, third.code) == (
        "XQ-22-000001",
        "XQ-22-000002",
        "XQ-62-000001",
    )


def test_import_allocates_province_codes(client, create_user, api_token):
    mod = create_user("moderator", region_prefix="22")
    rows = []
    for i, county in enumerate(("220102", "220523", "220102"), start=1):
        rows.append(need_row(i, region_code=county))
    resp = client.post("/api/v1/needs/import", json=rows, headers=api_token(mod))
    assert resp.status_code == 200, resp.json
    assert [r["code"] for r in resp.json["rows"]] == [
        "XQ-22-000001",
        "XQ-22-000002",
        "XQ-22-000003",
    ]


def _make_first_release(need: Need, old_code: str) -> None:
    """Put the need back into the first release's form, then run the upgrade
    that moves it to a province code (revision 0003), as a deployment would."""
    db.session.execute(
        text("UPDATE needs SET code = :c, legacy_code = NULL WHERE id = :id"),
        {"c": old_code, "id": need.id},
    )
    db.session.commit()
    db.session.remove()
    downgrade(revision="0002")
    upgrade()
    db.session.remove()


def test_old_codes_redirect_for_the_regions_moderators_only(
    app, client, login_as, create_need, create_user, api_token
):
    keep = create_need(region_code="220102")  # already a province code: untouched
    need = create_need(region_code="220523", status="published")
    need_id, keep_id, keep_code = need.id, keep.id, keep.code
    old = "XQ-220523-000001"
    _make_first_release(need, old)
    need = db.session.get(Need, need_id)
    assert need.legacy_code == old
    assert PUBLIC_CODE.match(need.code) and need.code != keep_code
    assert db.session.get(Need, keep_id).code == keep_code

    # The public: neither the page nor the API knows the old code.
    assert client.get(f"/needs/{old}").status_code == 404
    assert client.get(f"/api/v1/needs/{old}").status_code == 404
    assert client.get(f"/needs/{need.code}").status_code == 200
    assert client.get(f"/needs?q={old}").text.count(need.code) == 0

    # A moderator of the region: old links lead to the current page.
    mod = create_user("moderator", region_prefix="2205")
    c = login_as(mod)
    resp = c.get(f"/mod/needs/{old}")
    assert resp.status_code == 301
    assert resp.headers["Location"].endswith(f"/mod/needs/{need.code}")
    assert c.get(f"/mod/needs/{old}", follow_redirects=True).status_code == 200
    resp = c.post(f"/mod/needs/{old}/reveal")
    assert resp.status_code == 308
    assert resp.headers["Location"].endswith(f"/mod/needs/{need.code}/reveal")
    api = client.get(f"/api/v1/needs/{old}/private", headers=api_token(mod))
    assert api.status_code == 200 and api.json["code"] == need.code

    # A moderator of another region: not found, like any code it does not cover.
    other = create_user("moderator", region_prefix="2201")
    c = login_as(other)
    assert c.get(f"/mod/needs/{old}").status_code == 404
    assert c.post(f"/mod/needs/{old}/reveal").status_code == 404
    api = client.get(f"/api/v1/needs/{old}/private", headers=api_token(other))
    assert api.status_code == 404


def test_external_id_is_moderators_only(client, create_need, login_as, api_token):
    need = create_need(region_code="220102", external_id="JC-2026-0042")
    assert client.get("/api/v1/needs").text.count("JC-2026-0042") == 0
    detail = client.get(f"/api/v1/needs/{need.code}")
    assert detail.status_code == 200 and "external_id" not in detail.json
    assert "JC-2026-0042" not in client.get(f"/needs/{need.code}").text
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert "external_id" not in spec["Need"]["properties"]
    assert "external_id" in spec["NeedWork"]["properties"]
    mod = db.session.get(User, need.entered_by_id)
    assert "JC-2026-0042" in login_as(mod).get(f"/mod/needs/{need.code}").text


def test_external_id_holding_an_id_number_is_refused(
    client, create_user, api_token, login_as
):
    mod = create_user("moderator", region_prefix="22")
    headers = api_token(mod)
    for value in (CANARY_ID, "户主13987651234"):
        resp = client.post(
            "/api/v1/needs", json=valid_input(external_id=value), headers=headers
        )
        assert resp.status_code == 422, resp.json
        message = resp.json["error"]["fields"]["external_id"]
        assert message.startswith("外部编号：")
        assert value[-4:] in message and value not in message  # masked
    row = need_row(1, external_id=CANARY_ID)
    resp = client.post("/api/v1/needs/import", json=[row], headers=headers)
    assert resp.status_code == 200
    assert resp.json["rows"][0]["status"] == "refused"
    assert "外部编号" in resp.json["rows"][0]["errors"]["external_id"]
    assert db.session.scalar(select(db.func.count()).select_from(Need)) == 0
    ok = client.post(
        "/api/v1/needs", json=valid_input(external_id="JL-2026-000001"), headers=headers
    )
    assert ok.status_code == 201 and ok.json["external_id"] == "JL-2026-000001"
