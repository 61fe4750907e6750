"""Machinery for the access-control matrix: every rule in the URL map, made
concrete with the world's objects and requested as every role."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from charitylink.accounts.services import issue_token
from charitylink.extensions import db

SKIP_ENDPOINTS = {"static"}


def rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint not in SKIP_ENDPOINTS),
        key=lambda r: (r.endpoint, r.rule),
    )


def methods(rule: Rule) -> list[str]:
    return sorted(m for m in rule.methods or () if m in ("GET", "POST"))


def path_values(rule: Rule, world: Any) -> dict[str, Any]:
    """The world's object for each variable of the rule (org A's, need in 2201)."""
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        if arg == "org_id":
            values[arg] = world.org_a.id
        elif arg == "fund_id":
            values[arg] = world.fund_a.id
        elif arg == "project_id":
            values[arg] = world.project_a.id
        elif arg == "code":
            values[arg] = world.need.code
        elif arg == "claim_id":
            values[arg] = (
                world.delivered_claim.id
                if rule.endpoint.endswith(("evidence_file", "confirm_claim", "confirm"))
                else world.claim.id
            )
        elif arg == "offer_id" and getattr(world, "offer_a", None) is not None:
            values[arg] = world.offer_a.id
        elif arg == "entry_id":  # a donation to org A's fund (a receipt)
            values[arg] = _donation_of(world.fund_a)
        elif arg == "user_id":
            values[arg] = world.users["member_a"].id
        elif arg == "token_id":
            values[arg] = 1
        elif arg == "notification_id":  # one of org A's admin's notifications
            values[arg] = _notification_of(world.users["admin_a"])
        elif arg == "offer_id":  # org A's open offer
            values[arg] = world.offer_a.id
        elif arg == "webhook_id":  # org A's admin's hook
            values[arg] = _webhook_of(world.users["admin_a"])
        elif arg == "kind":
            values[arg] = "claims"  # an export sheet both orgs and moderators have
        elif arg == "token":
            values[arg] = "0" * 32  # an import preview that does not exist
        elif arg == "name":
            values[arg] = "totals"  # a report table present on both report pages
        elif arg == "consent_id":  # a consent on the world's need
            values[arg] = _consent_of(world)
        elif arg in ("complaint_id", "tracking_code"):  # a complaint about org A
            values[arg] = _complaint_of(world)[arg]
        elif arg == "request_id":  # a person's request about the world's need
            values[arg] = _privacy_request_of(world)
        elif hasattr(rule._converters.get(arg), "items"):
            items = sorted(rule._converters[arg].items)  # any(verify, reject, ...)
            values[arg] = "verify" if "verify" in items else items[0]
        else:
            values[arg] = "1"
    return values


def _notification_of(user: Any) -> int:
    from sqlalchemy import select

    from charitylink.notifications.models import Notification
    from charitylink.notifications.services import notify

    found = db.session.scalar(
        select(Notification.id).where(Notification.user_id == user.id).limit(1)
    )
    if found is None:
        notify("org_verified", [user], event="world", params={"org": "甲"}, url="/org")
        db.session.commit()
        found = db.session.scalar(
            select(Notification.id).where(Notification.user_id == user.id).limit(1)
        )
    assert found is not None
    return int(found)


def _complaint_of(world: Any) -> dict[str, Any]:
    """A complaint about the world's org A (its region), made once per world."""
    found = getattr(world, "_complaint", None)
    if found is None:
        from charitylink.complaints import services

        complaint, code = services.submit(
            {
                "subject_type": "org",
                "subject_id": str(world.org_a.id),
                "category": "misuse",
                "text": "善款去向不明，请核查。",
                "contact": "13900001111",
            },
            None,
        )
        db.session.commit()
        found = {"complaint_id": complaint.id, "tracking_code": code}
        world._complaint = found
    return found


def _privacy_request_of(world: Any) -> int:
    """A request from the person (privacy) in the world's need's county."""
    found = getattr(world, "_privacy_request", None)
    if found is None:
        from datetime import timedelta

        from charitylink.core.timeutil import today
        from charitylink.privacy.purge_models import PrivacyRequest

        req = PrivacyRequest(
            kind="access",
            household_key=world.need.household_key,
            region_code=world.need.region_code,
            due_on=today() + timedelta(days=15),
            note="",
        )
        db.session.add(req)
        db.session.commit()
        found = world._privacy_request = req.id
    return int(found)


def _consent_of(world: Any) -> int:
    from datetime import date

    from sqlalchemy import select

    from charitylink.privacy.models import Consent

    found = db.session.scalar(
        select(Consent.id).where(Consent.need_id == world.need.id).limit(1)
    )
    if found is None:
        consent = Consent(
            need_id=world.need.id,
            scope="publish_story",
            method="written",
            given_on=date(2026, 1, 5),
        )
        db.session.add(consent)
        db.session.commit()
        found = consent.id
    return int(found)


def _webhook_of(user: Any) -> int:
    from sqlalchemy import select

    from charitylink.webhooks.models import Webhook

    found = db.session.scalar(select(Webhook.id).where(Webhook.owner_id == user.id))
    if found is None:
        from charitylink.needs.privacy import cipher

        hook = Webhook(
            owner_id=user.id,
            org_id=user.org_id,
            url="https://hooks.example.org/charitylink",
            events=["claim.created"],
            secret_ciphertext=cipher().encrypt("whsec_world"),
        )
        db.session.add(hook)
        db.session.commit()
        found = hook.id
    return int(found)


def _donation_of(fund: Any) -> int:
    from sqlalchemy import select

    from charitylink.funds.models import LedgerEntry, LedgerKind

    entry_id = db.session.scalar(
        select(LedgerEntry.id).where(
            LedgerEntry.fund_id == fund.id, LedgerEntry.kind == LedgerKind.DONATION
        )
    )
    assert entry_id is not None, "the world's fund has a donation"
    return entry_id


def url_for_rule(app: Flask, rule: Rule, world: Any) -> str:
    values = path_values(rule, world)
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def forget_user() -> None:
    """Drop Flask-Login's cached user. The ``app`` fixture keeps one app context
    open, so requests of the test client share its ``g``: without this the first
    request's user would answer for every later one."""
    from flask import g

    g.pop("_login_user", None)


class Caller:
    """Requests as a role: a session cookie for pages, a bearer token for the API."""

    def __init__(self, app: Flask, world: Any, login_as: Any) -> None:
        self.app, self.world, self.login_as = app, world, login_as
        self._tokens: dict[str, str] = {}

    def token(self, role: str) -> dict[str, str]:
        if role == "public":
            return {}
        if role not in self._tokens:
            raw, _ = issue_token(self.world.user(role), "matrix")
            db.session.commit()
            self._tokens[role] = raw
        return {"Authorization": f"Bearer {self._tokens[role]}"}

    def client(self, role: str) -> FlaskClient:
        c = self.app.test_client()
        if role != "public":
            self.login_as(self.world.user(role), c)
        return c

    def request(self, role: str, method: str, url: str, **kw: Any) -> Any:
        forget_user()
        c = self.client(role)
        if url.startswith("/api/"):
            headers = {**self.token(role), **kw.pop("headers", {})}
            if method == "POST":
                kw.setdefault("json", {})
            return c.open(url, method=method, headers=headers, **kw)
        return c.open(url, method=method, **kw)
