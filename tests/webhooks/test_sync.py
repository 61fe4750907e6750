"""The moderators' sync walk: keyset on (updated_at, id), any status, claims
with their statuses; a walk during a stream of updates misses none."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import update

from charitylink.claims import services as claims
from charitylink.extensions import db
from charitylink.needs.models import Need
from tests.factories import org_admin_of


def walk(client: Any, headers: dict[str, str], start: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    url = f"/api/v1/needs?updated_since={start}&per_page=3"
    while True:
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200, answer.json
        seen.extend(answer.json["items"])
        url = answer.json["next"] or url
        if not answer.json["has_more"]:
            return seen


def test_sync_lists_any_status_with_claims_and_updated_at(
    client, api_token, create_user, create_org, create_fund, create_need
):
    moderator = create_user("moderator", region_prefix="2201")
    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    draft = create_need(status="draft", external_id="MON-1", entered_by=moderator)
    published = create_need(status="published", amount_fen=80_000)
    create_need(status="published", region_code="220202")  # another city
    before = published.updated_at
    claims.claim_need(published, org_admin_of(org), fund, 30_000)
    db.session.commit()
    db.session.refresh(published)
    assert published.updated_at > before  # the claim's UPDATE bumped it
    headers = api_token(moderator)
    found = walk(client, headers, "2000-01-01")
    assert [n["code"] for n in found] == [draft.code, published.code]
    assert found[0]["status"] == "draft" and found[0]["external_id"] == "MON-1"
    assert all("updated_at" in n for n in found)
    assert "household" not in found[0]
    assert [(c["status"], c["amount"]) for c in found[1]["claims"]] == [
        ("reserved", 30_000)
    ]
    one = client.get(f"/api/v1/needs/{published.code}/claims", headers=headers).json
    assert one["status"] == "published" and one["claims"] == found[1]["claims"]
    outside = api_token(create_user("moderator", region_prefix="2202"))
    assert (
        client.get(
            f"/api/v1/needs/{published.code}/claims", headers=outside
        ).status_code
        == 404
    )
    by_id = client.get("/api/v1/needs?external_id=MON-1", headers=headers).json
    assert [n["code"] for n in by_id["items"]] == [draft.code]
    # Who may sync: moderators only.
    assert client.get("/api/v1/needs?external_id=MON-1").status_code == 401
    member = api_token(create_user("org_member", org=org))
    assert client.get("/api/v1/needs?external_id=x", headers=member).status_code == 403
    bad = client.get("/api/v1/needs?updated_since=yesterday", headers=headers)
    assert bad.status_code == 422 and "updated_since" in bad.json["error"]["fields"]
    # The public list is unchanged: public needs, no updated_at.
    public = client.get("/api/v1/needs").json["items"]
    assert public and all("updated_at" not in n for n in public)


def test_a_walk_during_a_stream_of_updates_misses_no_change(
    app, client, api_token, create_user, create_need
):
    moderator = create_user("moderator", region_prefix="22")
    needs = [create_need(status="published", amount_fen=10_000) for _ in range(12)]
    ids = [n.id for n in needs]
    headers = api_token(moderator)
    start = "2000-01-01T00:00:00Z"
    stop = threading.Event()
    changed: dict[int, int] = {}  # need id → the last value written

    def updater() -> None:
        with app.app_context():
            value = 0
            while not stop.is_set():
                value += 1
                need_id = ids[value % len(ids)]
                db.session.execute(
                    update(Need)
                    .where(Need.id == need_id)
                    .values(title=f"更新第{value}次")
                )
                db.session.commit()
                changed[need_id] = value
                time.sleep(0.01)
            db.session.remove()

    thread = threading.Thread(target=updater)
    thread.start()
    try:
        seen: dict[str, str] = {}
        url = f"/api/v1/needs?updated_since={start}&per_page=3"
        for _page in range(15):  # walk while the updates go on
            answer = client.get(url, headers=headers).json
            seen.update({n["code"]: n["title"] for n in answer["items"]})
            url = answer["next"] or url
    finally:
        stop.set()
        thread.join()
    # The walk catches up after the stream stops: every need's last update seen.
    while True:
        answer = client.get(url, headers=headers).json
        seen.update({n["code"]: n["title"] for n in answer["items"]})
        url = answer["next"] or url
        if not answer["has_more"]:
            break
    codes = {n.id: n.code for n in needs}
    assert changed
    for need_id, value in changed.items():
        assert seen[codes[need_id]] == f"更新第{value}次"
