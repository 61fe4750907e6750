"""The Webhook pages: register with checkboxes (the secret shown once), a bad
URL marked on its field, the log, pause, resume and delete; owners only."""

from __future__ import annotations

from sqlalchemy import select

from charitylink.extensions import db
from charitylink.webhooks.models import HookStatus, Webhook


def test_register_show_secret_once_and_manage(client, login_as, create_user, receiver):
    owner = create_user("moderator", region_prefix="22")
    login_as(owner)
    page = client.get("/account/webhooks")
    assert page.status_code == 200 and "need.published" in page.text
    bad = client.post(
        "/account/webhooks", data={"url": "https://10.0.0.8/x", "events": ["x"]}
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text and "内网" in bad.text
    made = client.post(
        "/account/webhooks",
        data={"url": receiver.url, "events": ["need.published", "claim.created"]},
    )
    assert made.status_code == 200
    hook = db.session.scalars(select(Webhook)).one()
    assert hook.events == ["need.published", "claim.created"]
    assert "whsec_" in made.text
    assert "whsec_" not in client.get("/account/webhooks").text  # once only
    detail = f"/account/webhooks/{hook.id}"
    assert client.get(detail).status_code == 200
    client.post(f"{detail}/pause")
    db.session.refresh(hook)
    assert hook.status == HookStatus.PAUSED
    client.post(f"{detail}/resume")
    db.session.refresh(hook)
    assert hook.status == HookStatus.ACTIVE
    assert client.post(f"{detail}/delete").status_code == 302
    assert client.get(detail).status_code == 404


def test_only_owners_see_the_pages(client, login_as, create_user, create_org):
    org = create_org()
    login_as(create_user("org_member", org=org))
    assert client.get("/account/webhooks").status_code == 403
    login_as(create_user("admin"))
    assert client.get("/account/webhooks").status_code == 403
    assert client.get("/account/webhooks").status_code == 403
