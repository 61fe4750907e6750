"""POST /api/v1/needs/import: per-row outcomes, good rows kept, reruns idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from charitylink.core.audit import AuditEvent
from charitylink.extensions import db
from charitylink.needs import privacy
from charitylink.needs.models import Need, NeedStatus
from tests.imports.rows import need_row

URL = "/api/v1/needs/import"


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Need)) or 0


def test_import_creates_needs_then_rerun_is_unchanged(
    client, create_user, api_token
) -> None:
    mod = create_user("moderator", region_prefix="22")
    headers = api_token(mod)
    rows = [need_row(i) for i in range(1, 4)]
    resp = client.post(URL, json=rows, headers=headers)
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["summary"] == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "refused": 0,
        "total": 3,
    }
    assert [r["row"] for r in body["rows"]] == [1, 2, 3]
    assert all(r["code"].startswith("XQ-22-") for r in body["rows"])
    need = db.session.scalar(select(Need).where(Need.external_id == "JL-000001"))
    assert need.status == NeedStatus.DRAFT
    assert privacy.decrypt_household(need)["name"] == "测试户1"
    assert "测试户1" not in need.private_ciphertext
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "need.create")
        )
        == 3
    )

    again = client.post(URL, json={"rows": rows}, headers=headers)
    assert again.json["summary"]["unchanged"] == 3
    assert _count() == 3


def test_bad_rows_refused_with_fields_good_rows_kept(
    client, create_user, api_token
) -> None:
    mod = create_user("moderator", region_prefix="2201")
    rows = [
        need_row(1),
        need_row(2, amount=-5),
        need_row(3, category="unknown"),
        need_row(4, region_code="620102"),  # 甘肃: outside the moderator's scope
        need_row(1, title="重复的外部编号"),
        need_row(5, description="请联系 13912345678 王先生"),
        {k: v for k, v in need_row(6).items() if k != "external_id"},
    ]
    rows[6]["household"] = dict(rows[6]["household"])
    resp = client.post(URL, json=rows, headers=api_token(mod))
    assert resp.status_code == 200
    out = {r["row"]: r for r in resp.json["rows"]}
    assert out[1]["status"] == "created"
    assert out[2]["status"] == "refused" and "amount" in out[2]["errors"]
    assert "category" in out[3]["errors"]
    assert out[4]["error_code"] == "forbidden" and "region_code" in out[4]["errors"]
    assert out[5]["error_code"] == "duplicate_external_id"
    assert "第 1 行" in out[5]["errors"]["external_id"]
    assert "description" in out[6]["errors"]
    assert "external_id" in out[7]["errors"]
    assert _count() == 1


def test_update_changes_draft_but_never_a_claimed_need(
    client, create_user, api_token, create_need
) -> None:
    mod = create_user("moderator", region_prefix="22")
    headers = api_token(mod)
    client.post(URL, json=[need_row(1), need_row(2)], headers=headers)
    claimed = db.session.scalar(select(Need).where(Need.external_id == "JL-000002"))
    claimed.status = NeedStatus.FULLY_CLAIMED
    claimed.claimed_fen = claimed.amount_fen
    db.session.commit()
    resp = client.post(
        URL,
        json=[need_row(1, title="新的标题：治疗费用"), need_row(2, title="改过的标题")],
        headers=headers,
    )
    out = resp.json["rows"]
    assert out[0]["status"] == "updated"
    assert out[1]["status"] == "refused" and out[1]["error_code"] == "claimed"
    assert "已有机构认领" in out[1]["message"]
    db.session.expire_all()
    assert db.session.get(Need, claimed.id).title != "改过的标题"


def test_dry_run_writes_nothing(client, create_user, api_token) -> None:
    mod = create_user("moderator", region_prefix="22")
    resp = client.post(
        URL + "?dry_run=true", json=[need_row(1)], headers=api_token(mod)
    )
    assert resp.json["dry_run"] is True
    assert resp.json["rows"][0]["status"] == "created"
    assert _count() == 0


def test_only_moderators_import(client, create_org, api_token) -> None:
    from tests.factories import org_admin_of

    org = create_org()
    resp = client.post(URL, json=[need_row(1)], headers=api_token(org_admin_of(org)))
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "forbidden"
    assert client.post(URL, json=[need_row(1)]).status_code == 401


def test_more_than_5000_rows_refused_with_message(
    client, create_user, api_token
) -> None:
    mod = create_user("moderator", region_prefix="22")
    resp = client.post(URL, json=[{}] * 5001, headers=api_token(mod))
    assert resp.status_code == 422
    assert "5000" in resp.json["error"]["message"]


def test_malformed_body(client, create_user, api_token) -> None:
    headers = api_token(create_user("moderator"))
    assert client.post(URL, json={"x": 1}, headers=headers).status_code == 422
    resp = client.post(URL, data="[", content_type="application/json", headers=headers)
    assert resp.status_code == 400
    resp = client.post(URL, json=[1, "x"], headers=headers)
    assert {r["status"] for r in resp.json["rows"]} == {"refused"}


def test_batch_hitting_a_constraint_is_replayed_row_by_row(
    app, create_user, create_need
) -> None:
    """A colleague entered the same external id after the batch was checked: the
    batch rolls back to its savepoint and each row goes through create_need."""
    from charitylink.needs import importing
    from charitylink.needs.validation import clean_need_input

    mod = create_user("moderator", region_prefix="22")
    create_need(status="draft", external_id="JL-000002")
    rows = [importing.InputRow(i, need_row(i)) for i in (1, 2, 3)]
    pending = [(r, r.data["external_id"], clean_need_input(r.data)) for r in rows]
    outcomes = importing._create_batch(mod, pending)
    db.session.commit()
    assert [o.status for o in outcomes] == ["created", "refused", "created"]
    assert "external_id" in outcomes[1].errors
    assert _count() == 3  # the colleague's need and two imported ones


def test_dry_run_does_not_reveal_where_an_external_id_is_used(
    client, create_user, api_token
) -> None:
    """Pen-test finding 9b: a moderator of another province learned that an id
    exists in Jilin. The answer now says only that the id is taken (ids are
    unique platform-wide): the same for an id used in Jilin or in Qinghai, no
    region, no need code, no state; a row's own errors still come first."""
    jilin = api_token(create_user("moderator", region_prefix="22"))
    qinghai = api_token(create_user("moderator", region_prefix="63"))
    assert client.post(URL, json=[need_row(1)], headers=jilin).status_code == 200
    row = need_row(2, region_code="630102")
    assert client.post(URL, json=[row], headers=qinghai).status_code == 200
    gansu = api_token(create_user("moderator", region_prefix="62"))

    def outcome(external_id: str, dry_run: bool = True, **overrides):  # type: ignore[no-untyped-def]
        row = need_row(7, region_code="620102", external_id=external_id, **overrides)
        url = URL + ("?dry_run=true" if dry_run else "")
        return client.post(url, json=[row], headers=gansu).json["rows"][0]

    in_jilin, in_qinghai = outcome("JL-000001"), outcome("JL-000002")
    assert in_jilin["status"] == "refused" and in_jilin["code"] is None
    assert in_jilin["error_code"] == "external_id_taken"
    for key in ("status", "code", "error_code", "message", "errors"):
        same = str(in_qinghai[key]).replace("JL-000002", "JL-000001")
        assert str(in_jilin[key]) == same
    text = in_jilin["message"] + str(in_jilin["errors"])
    for hint in ("区划", "吉林", "220102", "XQ-", "草稿", "draft"):
        assert hint not in text
    assert outcome("JL-000001", dry_run=False) == in_jilin
    # A bad row: its own errors, whether the id is new or used elsewhere.
    bad_foreign = outcome("JL-000001", amount=-5)
    bad_new = outcome("JL-999999", amount=-5)
    assert bad_foreign["error_code"] == bad_new["error_code"] == "validation_failed"
    assert bad_foreign["errors"] == bad_new["errors"]
    # A new id is simply created; the uniqueness of ids still holds.
    assert outcome("JL-999999")["status"] == "created"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Need)
            .where(Need.external_id == "JL-000001")
        )
        == 1
    )
