"""Webhooks against a real receiver on loopback: signature, order, retries,
disabling, a worker dying mid-send, the private half, who may register."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from charitylink.claims import services as claims
from charitylink.core.timeutil import today
from charitylink.extensions import db
from charitylink.needs import services as needs
from charitylink.notifications.models import Notification
from charitylink.webhooks import sender
from charitylink.webhooks.models import (
    DeliveryStatus,
    HookStatus,
    Webhook,
    WebhookDelivery,
)
from tests.factories import make_id_number, org_admin_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
CANARY = {
    "name": "欧阳翠竹",
    "id_number": make_id_number(917, birth="19490101"),
    "phone": "13966660917",
    "address": "翠竹巷917号",
    "notes": "翠竹独居需上门核实",
}


def doc_verify() -> Any:
    """The receiver's ``verify`` exactly as docs/webhooks.md prints it."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None
    assert len(block.group(1).strip().splitlines()) <= 20
    scope: dict[str, Any] = {}
    exec(block.group(1), scope)  # noqa: S102 - our own documentation
    return scope["verify"]


def register(client: Any, headers: dict[str, str], url: str, events: list[str]) -> Any:
    return client.post(
        "/api/v1/webhooks", json={"url": url, "events": events}, headers=headers
    )


ALL = [
    "need.published",
    "need.fully_claimed",
    "need.withdrawn",
    "claim.created",
    "claim.delivered",
    "claim.confirmed",
    "claim.disputed",
]


def t0() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def test_signed_ordered_public_deliveries(
    client, api_token, receiver, create_user, create_org, create_fund, create_need
):
    moderator = create_user("moderator", region_prefix="2201")
    reviewer = create_user("moderator", region_prefix="22")
    elsewhere = create_user("moderator", region_prefix="2202")
    org = create_org()
    admin = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=5_000_000)
    answer = register(client, api_token(moderator), receiver.url, ALL)
    assert answer.status_code == 201, answer.json
    secret = answer.json["secret"]
    assert secret.startswith("whsec_")
    hook = db.session.get(Webhook, answer.json["id"])
    assert secret not in hook.secret_ciphertext
    org_hook = register(client, api_token(admin), receiver.url, ["claim.created"])
    assert org_hook.status_code == 201
    assert register(client, api_token(elsewhere), receiver.url, ALL).status_code == 201

    need = create_need(
        status="submitted", amount_fen=100_000, household=CANARY, entered_by=moderator
    )
    needs.approve_need(need, reviewer)
    db.session.commit()
    claim = claims.claim_need(need, admin, fund, 100_000)
    db.session.commit()
    claims.deliver_claim(claim, admin, 100_000, today(), "cash")
    db.session.commit()
    claims.confirm_claim(claim, reviewer)
    db.session.commit()

    result = sender.send_due()
    assert result.sent == 6 and result.retrying == 0
    verify = doc_verify()
    for got in receiver.accepted:
        header = got.headers["X-CharityLink-Signature"]
        assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
        payload = got.payload
        assert set(payload) == {"id", "event", "occurred_at", "data"}
        assert got.headers["X-CharityLink-Event-Id"] == payload["id"]
        text = got.body.decode()
        for value in CANARY.values():
            assert value not in text
        assert "测试户" not in text and "external_id" not in text
    rows = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.id)
    ).all()
    assert [d.event for d in rows] == [
        "need.published",
        "claim.created",
        "need.fully_claimed",
        "claim.delivered",
        "claim.confirmed",
    ]
    assert {d.status for d in rows} == {DeliveryStatus.SENT}
    hook_ids = [d.event_id for d in rows]
    seen = [r.payload["id"] for r in receiver.accepted if r.payload["id"] in hook_ids]
    assert list(dict.fromkeys(seen)) == hook_ids  # received in order
    hook_bodies = [d.body for d in rows]
    # The documented receiver accepts the moderator's deliveries with its secret,
    # and refuses a tampered body or another secret.
    first = next(r for r in receiver.accepted if r.body.decode() in hook_bodies)
    header = first.headers["X-CharityLink-Signature"]
    assert verify(secret, header, first.body)
    assert not verify(secret, header, first.body + b" ")
    assert not verify("whsec_other", header, first.body)
    old = "t=1000000000," + header.split(",", 1)[1]
    assert not verify(secret, old, first.body)
    # The org's hook got its own claim's event only; the other region nothing.
    org_rows = db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == org_hook.json["id"])
    ).all()
    assert [d.event for d in org_rows] == ["claim.created"]
    log = client.get(
        f"/api/v1/webhooks/{hook.id}/deliveries", headers=api_token(moderator)
    )
    assert log.status_code == 200
    assert len(log.json["items"]) == 5
    assert all(i["ok"] and i["status_code"] == 200 for i in log.json["items"])


def _published_events(create_user, create_need, count: int) -> None:
    reviewer = create_user("moderator", region_prefix="22")
    for _n in range(count):
        need = create_need(status="submitted", amount_fen=50_000)
        needs.approve_need(need, reviewer)
        db.session.commit()


def test_three_failures_then_success_sends_each_event_once_in_order(
    client, api_token, receiver, create_user, create_need
):
    owner = create_user("moderator", region_prefix="22")
    assert register(client, api_token(owner), receiver.url, ALL).status_code == 201
    receiver.behaviour = lambda n: 500 if n <= 3 else 204
    _published_events(create_user, create_need, 3)
    now = t0()
    for minutes in (0, 1, 3, 7, 15):
        sender.send_due(now=now + timedelta(minutes=minutes, seconds=1))
    ids = [r.payload["id"] for r in receiver.requests]
    # The first event four times (three failures, then the success), the others
    # only after it, once each.
    assert len(set(ids[:4])) == 1
    assert len(ids) == 6
    accepted = [r.payload["id"] for r in receiver.accepted]
    assert len(accepted) == len(set(accepted)) == 3
    created = [
        d.event_id
        for d in db.session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id)
        )
    ]
    assert accepted == created
    assert {d.status for d in db.session.scalars(select(WebhookDelivery))} == {
        DeliveryStatus.SENT
    }


def test_a_receiver_that_never_answers_gets_the_hook_disabled(
    client, api_token, receiver, create_user, create_need
):
    owner = create_user("moderator", region_prefix="22")
    hook_id = register(client, api_token(owner), receiver.url, ALL).json["id"]
    receiver.behaviour = lambda n: None
    _published_events(create_user, create_need, 2)
    now = t0()
    assert sender.send_due(now=now).retrying == 1
    assert sender.send_due(now=now + timedelta(hours=25)).abandoned == 1
    db.session.expire_all()
    hook = db.session.get(Webhook, hook_id)
    assert hook.status == HookStatus.DISABLED
    told = db.session.scalars(
        select(Notification).where(Notification.user_id == owner.id)
    ).all()
    assert [n.kind for n in told] == ["webhook_disabled"]
    # Disabled: nothing more is sent, nothing more queued.
    assert sender.send_due(now=now + timedelta(hours=26)).total == 0
    log = client.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=api_token(owner))
    assert [i["ok"] for i in log.json["items"]] == [False, False]
    assert log.json["items"][0]["status_code"] is None
    # The owner fixes the receiver and resumes: the rest goes out, in order.
    receiver.behaviour = lambda n: 200
    resumed = client.post(
        f"/api/v1/webhooks/{hook_id}/resume", headers=api_token(owner)
    )
    assert resumed.status_code == 200 and resumed.json["status"] == "active"
    assert sender.send_due().sent == 1


def test_a_worker_killed_mid_send_loses_nothing(
    client, api_token, receiver, create_user, create_need, monkeypatch
):
    owner = create_user("moderator", region_prefix="22")
    register(client, api_token(owner), receiver.url, ALL)
    _published_events(create_user, create_need, 2)
    real_record = sender.record

    def die(*args: Any, **kwargs: Any) -> str:
        raise SystemExit("killed after the POST, before recording it")

    monkeypatch.setattr(sender, "record", die)
    now = t0()
    with pytest.raises(SystemExit):
        sender.send_due(now=now)
    db.session.rollback()
    monkeypatch.setattr(sender, "record", real_record)
    assert len(receiver.requests) == 1
    # Leased: not sent again at once, nor is the next event sent before it.
    assert sender.send_due(now=now + timedelta(seconds=30)).total == 0
    assert sender.send_due(now=now + timedelta(minutes=3)).sent == 2
    ids = [r.payload["id"] for r in receiver.requests]
    assert ids[0] == ids[1] and ids[2] != ids[0]
    assert receiver.requests[0].body == receiver.requests[1].body
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://10.1.2.3/hook", "内网"),
        ("https://169.254.169.254/latest", "内网"),
        ("https://[::1]:8443/x", "内网"),
        ("http://93.184.216.34/hook", "https"),
        ("ftp://example.org/x", "https"),
        ("https://user:pw@93.184.216.34/", "用户名"),
    ],
)
def test_urls_that_would_reach_inside_are_refused(
    app, client, api_token, create_user, url, fragment
):
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    owner = create_user("moderator", region_prefix="22")
    answer = register(client, api_token(owner), url, ["need.published"])
    assert answer.status_code == 422
    assert fragment in answer.json["error"]["fields"]["url"]


def test_who_may_register_and_see_hooks(
    app, client, api_token, receiver, create_user, create_org
):
    org = create_org()
    member = create_user("org_member", org=org)
    admin = create_user("admin", region_prefix=None)
    owner = create_user("moderator", region_prefix="22")
    colleague = create_user("moderator", region_prefix="22")
    body = {"url": receiver.url, "events": ["need.published"]}
    assert client.post("/api/v1/webhooks", json=body).status_code == 401
    assert client.get("/api/v1/webhooks").status_code == 401
    for user in (member, admin):
        answer = client.post("/api/v1/webhooks", json=body, headers=api_token(user))
        assert answer.status_code == 403, user.role
    hook = client.post("/api/v1/webhooks", json=body, headers=api_token(owner))
    hook_id = hook.json["id"]
    assert hook.json["scope"] == "region:22"
    org_hook = client.post(
        "/api/v1/webhooks", json=body, headers=api_token(org_admin_of(org))
    )
    assert org_hook.json["scope"] == f"org:{org.id}"
    assert (
        "secret"
        not in client.get(f"/api/v1/webhooks/{hook_id}", headers=api_token(owner)).json
    )
    for path in ("", "/deliveries"):
        other = client.get(
            f"/api/v1/webhooks/{hook_id}{path}", headers=api_token(colleague)
        )
        assert other.status_code == 404
    assert (
        client.delete(
            f"/api/v1/webhooks/{hook_id}", headers=api_token(colleague)
        ).status_code
        == 404
    )
    assert client.get("/api/v1/webhooks", headers=api_token(colleague)).json == {
        "items": []
    }
    bad = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "events": ["need.eaten"]},
        headers=api_token(owner),
    )
    assert bad.status_code == 422
    assert (
        client.delete(
            f"/api/v1/webhooks/{hook_id}", headers=api_token(owner)
        ).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/webhooks/{hook_id}", headers=api_token(owner)).status_code
        == 404
    )


def test_the_send_command_sends_and_counts(
    client, api_token, runner, receiver, create_user, create_need
):
    owner = create_user("moderator", region_prefix="22")
    register(client, api_token(owner), receiver.url, ALL)
    _published_events(create_user, create_need, 2)
    result = runner.invoke(args=["webhooks", "send"])
    assert result.exit_code == 0 and "已推送 2 条" in result.output
    assert len(receiver.accepted) == 2


def test_two_workers_never_claim_the_same_delivery(
    app, client, api_token, receiver, create_user, create_need
):
    import threading

    for _n in range(4):  # four hooks: four heads to share out
        owner = create_user("moderator", region_prefix="22")
        register(client, api_token(owner), receiver.url, ALL)
    _published_events(create_user, create_need, 2)
    claimed: list[list[int]] = []
    start = threading.Barrier(2)

    def worker() -> None:
        with app.app_context():
            start.wait()
            claimed.append(sender.claim_due(limit=4))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    together = claimed[0] + claimed[1]
    assert len(together) == len(set(together)) == 4


def test_a_dispute_and_its_resolution_reach_the_hooks(
    client, api_token, receiver, create_user, create_org, create_fund, create_need
):
    moderator = create_user("moderator", region_prefix="2201")
    second = create_user("moderator", region_prefix="22")
    org = create_org()
    admin = org_admin_of(org)
    fund = create_fund(org=org, donations_fen=1_000_000)
    answer = register(client, api_token(moderator), receiver.url, ALL)
    assert answer.status_code == 201, answer.json
    need = create_need(status="published", amount_fen=80_000, household=CANARY)
    claim = claims.claim_need(need, admin, fund, 80_000)
    db.session.commit()
    claims.deliver_claim(claim, admin, 80_000, today(), "cash")
    db.session.commit()
    claims.respond_to_dispute(
        claims.dispute_claim(claim, moderator, "家庭称只收到一部分", 50_000),
        admin,
        "已补交凭证",
    )
    db.session.commit()
    claims.resolve_dispute(claim, second, "confirm", reason="补充凭证属实")
    db.session.commit()

    assert sender.send_due().sent == 5
    events = [
        d.event
        for d in db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == answer.json["id"])
            .order_by(WebhookDelivery.id)
        )
    ]
    assert events == [
        "claim.created",
        "need.fully_claimed",
        "claim.delivered",
        "claim.disputed",
        "claim.confirmed",
    ]
    for got in receiver.accepted:
        text = got.body.decode()
        assert "一部分" not in text and "补充凭证" not in text
        for value in CANARY.values():
            assert value not in text
