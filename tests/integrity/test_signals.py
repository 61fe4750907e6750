"""Each integrity signal: a fixture that triggers it and one just under its
line; region scope; dismissal and its return on new evidence (page and API)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.integrity import signals
from tests.integrity.conftest import ago

HOUR = timedelta(hours=1)


@pytest.fixture
def world(create_org, create_fund, create_need, create_user):  # type: ignore[no-untyped-def]
    org_a, org_b, org_c = create_org(), create_org(), create_org()
    return {
        "funds": [create_fund(org=o) for o in (org_a, org_b, org_c)],
        "need": create_need(),
        "moderator": create_user("moderator", region_prefix="22"),
        "elsewhere": create_user("moderator", region_prefix="11"),
        "create_need": create_need,
    }


def _kinds(user: Any, kind: str) -> list[signals.Signal]:
    return signals.compute(user, (kind,))


def test_claim_abandon_at_and_under_the_line(world, add_claim):  # type: ignore[no-untyped-def]
    fa, fb, _fc = world["funds"]
    need, mod = world["need"], world["moderator"]
    # Org A: 5 cancelled/expired of 10 → exactly half, at least 5: over.
    for status in ["cancelled"] * 3 + ["expired"] * 2 + ["delivered"] * 5:
        add_claim(need, fa, status)
    # Org B: 4 of 4 abandoned (under the minimum), and 5 of 11 (under half).
    for status in ["cancelled"] * 4:
        add_claim(need, fb, status)
    [found] = _kinds(mod, "claim_abandon")
    assert found.org_id == fa.org_id
    assert found.figures == {"claims": 10, "abandoned": 5, "days": 90}
    assert len(found.claims) == 5 and {c.need_code for c in found.claims} == {need.code}
    add_claim(need, fb, "cancelled")  # B: 5 of 5 now
    for _ in range(6):
        add_claim(need, fb, "delivered")  # 5 of 11: under half
    assert [s.org_id for s in _kinds(mod, "claim_abandon")] == [fa.org_id]
    # Claims older than the window do not count.
    for _ in range(5):
        add_claim(need, world["funds"][2], "cancelled", created=ago(days=91))
    assert [s.org_id for s in _kinds(mod, "claim_abandon")] == [fa.org_id]
    assert _kinds(world["elsewhere"], "claim_abandon") == []


def test_double_dipping_two_orgs_two_needs_same_type(world, add_claim):  # type: ignore[no-untyped-def]
    fa, fb, _fc = world["funds"]
    make_need, mod = world["create_need"], world["moderator"]
    person = {"id_number": "11010519491231002X", "name": "欧阳秀英"}
    first = make_need(household=person, need_type="medical")
    second = make_need(household=person, need_type="medical")
    other_type = make_need(household=person, need_type="education")
    add_claim(first, fa, "delivered", created=ago(days=10), delivered_after=HOUR * 3)
    add_claim(
        other_type, fb, "delivered", created=ago(days=5), delivered_after=HOUR * 3
    )
    # Same type, but one org only / a delivery outside the window: nothing.
    add_claim(second, fa, "confirmed", created=ago(days=3), delivered_after=HOUR * 3)
    add_claim(second, fb, "delivered", created=ago(days=200), delivered_after=HOUR * 3)
    assert _kinds(mod, "double_dipping") == []
    # Two orgs, two needs of the same type within 180 days: the signal.
    add_claim(second, fb, "delivered", created=ago(days=2), delivered_after=HOUR * 3)
    [found] = _kinds(mod, "double_dipping")
    assert found.figures["orgs"] == 2 and found.figures["needs"] == 2
    assert found.households == [first.household_key[:8]]
    # Evidence names the household by code only, never its name or ID number.
    text = repr([c.as_dict() for c in found.claims]) + found.summary
    assert "欧阳秀英" not in text and "11010519491231002X" not in text


def test_co_funding_one_need_is_not_double_dipping(world, add_claim):  # type: ignore[no-untyped-def]
    fa, fb, _fc = world["funds"]
    need = world["need"]
    add_claim(need, fa, "delivered", delivered_after=HOUR * 3)
    add_claim(need, fb, "delivered", delivered_after=HOUR * 3)
    assert _kinds(world["moderator"], "double_dipping") == []


def test_evidence_reuse_by_content_hash(world, add_claim):  # type: ignore[no-untyped-def]
    fa, fb, _fc = world["funds"]
    need, mod = world["need"], world["moderator"]
    add_claim(need, fa, "delivered", delivered_after=HOUR * 2, sha="a" * 64)
    add_claim(need, fb, "delivered", delivered_after=HOUR * 2, sha="b" * 64)
    assert _kinds(mod, "evidence_reuse") == []  # two different files
    add_claim(need, fb, "delivered", delivered_after=HOUR * 2, sha="a" * 64)
    [found] = _kinds(mod, "evidence_reuse")
    assert found.figures["claims"] == 2 and found.subject == "file-" + "a" * 16
    assert _kinds(world["elsewhere"], "evidence_reuse") == []


def test_fast_delivery_within_the_hour(world, add_claim):  # type: ignore[no-untyped-def]
    fa, fb, _fc = world["funds"]
    need, mod = world["need"], world["moderator"]
    add_claim(need, fb, "delivered", delivered_after=timedelta(minutes=61))
    assert _kinds(mod, "fast_delivery") == []
    add_claim(need, fa, "delivered", delivered_after=timedelta(minutes=59))
    [found] = _kinds(mod, "fast_delivery")
    assert found.org_id == fa.org_id and len(found.claims) == 1


def test_concentration_in_a_county(world, add_claim):  # type: ignore[no-untyped-def]
    fa, fb, fc = world["funds"]
    need, mod = world["need"], world["moderator"]
    # 5 claims in the county: A holds 2 (40 %), B 2, C 1 → nothing.
    for fund in (fa, fa, fb, fb, fc):
        add_claim(need, fund)
    assert _kinds(mod, "concentration") == []
    # A reaches 3 of 6 (50 %): still under; 4 of 7 (57 %) under; 5 of 8 (62.5 %) over.
    add_claim(need, fa)
    add_claim(need, fa)
    assert _kinds(mod, "concentration") == []
    add_claim(need, fa)
    [found] = _kinds(mod, "concentration")
    assert found.org_id == fa.org_id
    assert found.figures["county_claims"] == 8 and found.figures["org_claims"] == 5
    assert found.figures["county"] == need.region_code[:6]


def test_too_few_claims_in_a_county_is_not_concentration(world, add_claim):  # type: ignore[no-untyped-def]
    fa = world["funds"][0]
    for _ in range(4):
        add_claim(world["need"], fa)
    assert _kinds(world["moderator"], "concentration") == []


def test_dismissal_holds_until_new_evidence_api(world, add_claim, client, api_token):  # type: ignore[no-untyped-def]
    fa = world["funds"][0]
    need, mod = world["need"], world["moderator"]
    add_claim(need, fa, "delivered", delivered_after=timedelta(minutes=5))
    headers = api_token(mod)
    listed = client.get("/api/v1/integrity/signals", headers=headers)
    assert listed.status_code == 200, listed.get_json()
    [item] = [i for i in listed.get_json()["items"] if i["kind"] == "fast_delivery"]
    assert item["claims"][0]["need_code"] == need.code
    url = f"/api/v1/integrity/signals/{item['id']}/dismiss"
    # No reason: 422; someone else's region: 404; stale evidence: 409.
    assert client.post(url, json={}, headers=headers).status_code == 422
    other = client.post(
        url, json={"reason": "x"}, headers=api_token(world["elsewhere"])
    )
    assert other.status_code == 404
    stale = client.post(
        url, json={"reason": "核实", "fingerprint": "0" * 64}, headers=headers
    )
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"
    done = client.post(
        url,
        json={"reason": "现场核实：物资当面交付", "fingerprint": item["fingerprint"]},
        headers=headers,
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["dismissal"]["reason"] == "现场核实：物资当面交付"
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "integrity.dismiss")
    ).one()
    assert audit.object_id == item["id"] and audit.actor_id == mod.id
    kinds = [
        i["kind"]
        for i in client.get("/api/v1/integrity/signals", headers=headers).get_json()[
            "items"
        ]
    ]
    assert "fast_delivery" not in kinds
    shown = client.get(
        "/api/v1/integrity/signals?include_dismissed=true", headers=headers
    ).get_json()["items"]
    assert [i["kind"] for i in shown if i["dismissal"]] == ["fast_delivery"]
    # A new fast delivery is new evidence: the signal is back.
    add_claim(need, fa, "delivered", delivered_after=timedelta(minutes=7))
    items = client.get("/api/v1/integrity/signals", headers=headers).get_json()["items"]
    [back] = [i for i in items if i["kind"] == "fast_delivery"]
    assert len(back["claims"]) == 2 and back["dismissal"] is None


def test_signals_api_is_for_moderators_only(world, client, api_token, create_org):  # type: ignore[no-untyped-def]
    from tests.factories import org_admin_of

    assert client.get("/api/v1/integrity/signals").status_code == 401
    org_user = org_admin_of(world["funds"][0].org)
    resp = client.get("/api/v1/integrity/signals", headers=api_token(org_user))
    assert resp.status_code == 403


def test_page_lists_and_dismisses(world, add_claim, client, login_as):  # type: ignore[no-untyped-def]
    fa = world["funds"][0]
    need, mod = world["need"], world["moderator"]
    add_claim(need, fa, "delivered", delivered_after=timedelta(minutes=5))
    login_as(mod)
    page = client.get("/mod/integrity")
    html = page.get_data(as_text=True)
    assert (
        page.status_code == 200
        and need.code in html
        and "认领后一小时内即报交付" in html
    )
    [found] = _kinds(mod, "fast_delivery")
    resp = client.post(
        "/mod/integrity/dismiss",
        data={"signal_id": found.id, "fingerprint": found.fingerprint, "reason": ""},
    )
    assert resp.status_code == 302
    assert _kinds(mod, "fast_delivery")  # no reason: still there
    client.post(
        "/mod/integrity/dismiss",
        data={
            "signal_id": found.id,
            "fingerprint": found.fingerprint,
            "reason": "已核实",
        },
    )
    assert _kinds(mod, "fast_delivery") == []
    html = client.get("/mod/integrity?dismissed=1").get_data(as_text=True)
    assert "已核实" in html
