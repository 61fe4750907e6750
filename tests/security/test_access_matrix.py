"""The access-control matrix: every rule in the URL map × every role (ASVS V4).

``EXPECT`` says, per endpoint and method, which roles may use it. The test fails
when a route has no entry, so a new route cannot ship without a decision here.
GET: allowed roles get 200 (or a listed redirect); the others get 302 to the
login page (anonymous), 401 (anonymous API), or 403/404. POST: only refused
roles are sent (an allowed POST changes the world); each must be refused with
one of those statuses AND change nothing (audit and ledger rows counted).
The world is in conftest.py: org A's objects, a need in 220102.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import ROLES, state_counts
from tests.security.routes import Caller, methods, rules, url_for_rule

ALL = frozenset(ROLES)
LOGGED_IN = ALL - {"public"}
STAFF_A = frozenset({"member_a", "admin_a"})
ADMIN_A = frozenset({"admin_a"})
ORG_ADMINS = frozenset({"admin_a", "admin_b"})
ORG_STAFF = frozenset({"member_a", "admin_a", "admin_b"})
MODS = frozenset({"mod_in", "mod_out", "admin"})
MOD_IN = frozenset({"mod_in", "admin"})  # moderators covering 220102
ADMIN = frozenset({"admin"})
# Webhooks: moderators with a region and org admins register; a hook is its
# owner's (the world's belongs to org A's admin).
HOOK_OWNERS = ORG_ADMINS | {"mod_in", "mod_out"}

# Allowed GETs that answer with a redirect instead of 200 (state-dependent pages).
REDIRECT_OK = {
    "accounts.login",  # logged in → own home
    "needs.edit",  # a published need is not editable → its review page
    "projects.edit",  # a published project is not editable → its page
    "orgs.resubmit",  # only a rejected registration → the profile page
    "claims.contact",  # a reloaded contact result → the claim's page
    "orgs.decide",  # a reloaded decision → the org's review page
    "needs.reveal",  # a reloaded reveal → the masked review page
    "complaints.accept",  # a reloaded accept → the complaint's page
    "complaints.resolve",  # a reloaded resolve → the complaint's page
    "complaints.contact",  # a reloaded contact → the complaint's page, without it
    "privacy_requests.export",  # a reloaded export → the request's page
    "privacy_requests.correct",  # a reloaded form → the request's page
    "privacy_requests.erase",
    "privacy_requests.close",
}

# Allowed GETs whose object does not exist in the world (a random import token):
# allowed roles get 404, so only the refusal of the others is checked.
NOT_FOUND_OK = {
    "needs.import_preview",
    "mail.unsubscribe",  # the world's token is not a signed one: "link invalid"
    "claims.response_evidence_file",  # the world's claim was never disputed
    "privacy.form_file",  # the world's consent has no signed form
    "exports.mod_private_download",  # a made-up link
}

# Allowed GETs of an e-mailed link whose token the world has not (a made-up
# one): everyone gets the 400 page saying the link cannot be used.
BAD_LINK_OK = {"accounts.reset", "accounts.confirm"}

# POSTs whose API endpoint checks the body before the service checks the role:
# refused roles get 422 (and nothing changes); the service would answer 403.
VALIDATES_FIRST = {
    "api_v1.deliver_claim",
    "api_v1.import_needs",
    "api_v1.match_offer",
    "api_v1.propose_offer_match",
}

# endpoint → {method: roles allowed}
EXPECT: dict[str, dict[str, frozenset[str]]] = {
    # accounts
    "accounts.login": {"GET": ALL, "POST": ALL},
    "accounts.logout": {"POST": LOGGED_IN},
    "accounts.password": {"GET": LOGGED_IN, "POST": LOGGED_IN},
    "accounts.tokens": {"GET": LOGGED_IN, "POST": LOGGED_IN},
    "accounts.revoke_token": {"POST": LOGGED_IN},  # others' tokens: 404 (tested)
    "accounts.forgot": {"GET": ALL, "POST": ALL},
    "accounts.reset": {"GET": ALL, "POST": ALL},  # the signed link is the key
    "accounts.confirm": {"GET": ALL, "POST": ALL},  # the signed link is the key
    "accounts.resend_confirmation": {"POST": LOGGED_IN},
    # notifications: one's own only (the world's is admin_a's; others get 404)
    "notifications.inbox": {"GET": LOGGED_IN},
    "notifications.open_one": {"POST": ADMIN_A},
    "notifications.read_one": {"POST": ADMIN_A},
    "notifications.read_all": {"POST": LOGGED_IN},
    "notifications.settings": {"GET": LOGGED_IN, "POST": LOGGED_IN},
    "api_v1.list_notifications": {"GET": LOGGED_IN},
    "api_v1.read_notification": {"POST": ADMIN_A},
    "api_v1.read_all_notifications": {"POST": LOGGED_IN},
    "api_v1.get_notification_settings": {"GET": LOGGED_IN},
    # admin area
    "admin.audit": {"GET": MODS},  # scoped to the moderator's region
    "admin.users": {"GET": ADMIN, "POST": ADMIN},
    "admin.set_active": {"GET": ADMIN, "POST": ADMIN},  # GET: the confirmation step
    "mail.outbox": {"GET": ADMIN},
    # The signed token is the authority (a mail program posts without a session).
    "mail.unsubscribe": {"GET": ALL, "POST": ALL},
    "admin.reset_link": {"POST": ADMIN},
    # public pages
    "public.home": {"GET": ALL},
    "orgs.index": {"GET": ALL},
    "orgs.detail": {"GET": ALL},
    "orgs.register": {"GET": ALL, "POST": ALL},
    "funds.public_detail": {"GET": ALL},
    "projects.public_list": {"GET": ALL},
    "projects.public_detail": {"GET": ALL},
    "needs.index": {"GET": ALL},
    "needs.detail": {"GET": ALL},
    "reports.transparency_page": {"GET": ALL},
    "reports.transparency_export": {"GET": ALL},
    # org work area
    "workspace.org_home": {"GET": ORG_STAFF},
    "orgs.profile": {"GET": ORG_ADMINS, "POST": ORG_ADMINS},
    "orgs.resubmit": {"GET": ORG_ADMINS, "POST": ORG_ADMINS},
    "orgs.members": {"GET": ORG_ADMINS, "POST": ORG_ADMINS},
    "orgs.deactivate_member": {"GET": ADMIN_A, "POST": ADMIN_A},  # GET: confirmation
    "orgs.reactivate_member": {"POST": ADMIN_A},
    "orgs.member_role": {"GET": ADMIN_A, "POST": ADMIN_A},  # GET: confirmation
    "funds.org_list": {"GET": ORG_STAFF},
    "funds.org_detail": {"GET": STAFF_A},
    "funds.new": {"GET": ORG_ADMINS, "POST": ORG_ADMINS},
    "funds.donation": {"GET": ADMIN_A, "POST": ADMIN_A},
    "projects.org_list": {"GET": ORG_STAFF},
    "projects.org_detail": {"GET": STAFF_A},
    "projects.new": {"GET": ORG_STAFF, "POST": ORG_STAFF},
    "projects.edit": {"GET": STAFF_A, "POST": STAFF_A},
    "projects.submit": {"POST": STAFF_A},
    "projects.redraft": {"POST": STAFF_A},
    "projects.close": {"POST": STAFF_A},
    "projects.post_update": {"POST": STAFF_A},
    "claims.claim": {"POST": ORG_STAFF},
    "claims.org_index": {"GET": ORG_STAFF},
    "claims.org_detail": {"GET": STAFF_A},
    "claims.deliver": {"GET": STAFF_A, "POST": STAFF_A},
    "claims.cancel": {"GET": STAFF_A, "POST": STAFF_A},  # GET: the confirmation step
    "claims.contact": {"GET": STAFF_A, "POST": STAFF_A},  # GET: back to the claim
    "claims.evidence_file": {"GET": STAFF_A | MOD_IN},
    # printable documents: the receipt is the org admin's to issue (as donations
    # are the admin's to record); a claim's record is for whoever may see the
    # claim's evidence (the org's staff, the region's moderators)
    "printing.donation_receipt": {"GET": ADMIN_A},
    "printing.claim_record": {"GET": STAFF_A | MOD_IN},
    # moderator work area
    "workspace.mod_home": {"GET": MODS},
    "orgs.queue": {"GET": MODS},
    "orgs.review": {"GET": MOD_IN},
    "orgs.decide": {"GET": MOD_IN, "POST": MOD_IN},  # GET: back to the review
    "projects.mod_queue": {"GET": MODS},
    "projects.mod_overdue": {"GET": MODS},
    "projects.mod_detail": {"GET": MOD_IN},
    "projects.approve": {"POST": MOD_IN},
    "projects.reject": {"POST": MOD_IN},
    "projects.mod_close": {"POST": MOD_IN},
    "needs.mod_index": {"GET": MODS},
    "needs.new": {"GET": MODS, "POST": MODS},
    "needs.review": {"GET": MOD_IN},
    "needs.edit": {"GET": MOD_IN, "POST": MOD_IN},
    "needs.submit": {"POST": MOD_IN},
    "needs.approve": {"POST": MOD_IN},
    "needs.reject": {"POST": MOD_IN},
    "needs.withdraw": {"POST": MOD_IN},
    "needs.to_draft": {"POST": MOD_IN},
    "needs.extend": {"POST": MOD_IN},
    "needs.bulk": {"POST": MODS},
    "needs.reveal": {"GET": MOD_IN, "POST": MOD_IN},  # GET: back to the review
    "needs.import_upload": {"GET": MODS},
    "needs.import_preview_post": {"POST": MODS},
    "needs.import_preview": {"GET": MODS},
    "needs.import_confirm": {"POST": MODS},
    "needs.import_template": {"GET": MODS},
    "exports.mod_exports": {"GET": MODS},
    "exports.mod_export": {"GET": MODS},
    "exports.org_exports": {"GET": ORG_ADMINS},
    "exports.org_export": {"GET": ORG_ADMINS},
    "claims.mod_index": {"GET": MODS},
    "claims.confirm": {"GET": MOD_IN, "POST": MOD_IN},  # GET: the confirmation step
    "claims.mod_detail": {"GET": MOD_IN},
    "claims.dispute": {"POST": MOD_IN},
    "claims.resolve": {"POST": MOD_IN},
    "claims.extend": {"POST": MOD_IN},
    "claims.respond": {"POST": STAFF_A},
    "claims.response_evidence_file": {"GET": STAFF_A | MOD_IN},
    "funds.reverse_donation": {"GET": ADMIN_A, "POST": ADMIN_A},
    "reports.mod_reports": {"GET": MODS},
    "reports.mod_export": {"GET": MODS},
    # API
    "api_v1.create_token": {"POST": ALL},
    "api_v1.register_org": {"POST": ALL},
    "api_v1.list_orgs": {"GET": ALL},
    "api_v1.get_org": {"GET": ALL},
    "api_v1.verify_org": {"POST": MOD_IN},
    "api_v1.reject_org": {"POST": MOD_IN},
    "api_v1.suspend_org": {"POST": MOD_IN},
    "api_v1.reinstate_org": {"POST": MOD_IN},
    "api_v1.get_fund": {"GET": ALL},
    "api_v1.create_fund": {"POST": ORG_ADMINS},
    "api_v1.create_donation": {"POST": ADMIN_A},
    "api_v1.list_projects": {"GET": ALL},
    "api_v1.get_project": {"GET": ALL},
    "api_v1.create_project": {"POST": ORG_STAFF},
    "api_v1.update_project": {"POST": STAFF_A},
    "api_v1.submit_project": {"POST": STAFF_A},
    "api_v1.close_project": {"POST": STAFF_A | MOD_IN},
    "api_v1.approve_project": {"POST": MOD_IN},
    "api_v1.reject_project": {"POST": MOD_IN},
    "api_v1.list_needs": {"GET": ALL},
    "api_v1.get_need": {"GET": ALL},
    "api_v1.get_private": {"GET": MOD_IN},
    "api_v1.list_need_claims": {"GET": MOD_IN},
    "api_v1.create_need": {"POST": MODS},
    "api_v1.import_needs": {"POST": MODS},
    "api_v1.submit_need": {"POST": MOD_IN},
    "api_v1.approve_need": {"POST": MOD_IN},
    "api_v1.reject_need": {"POST": MOD_IN},
    "api_v1.withdraw_need": {"POST": MOD_IN},
    "api_v1.extend_need": {"POST": MOD_IN},
    "api_v1.bulk_review_needs": {"POST": MODS},
    "api_v1.list_claims": {"GET": ORG_STAFF},
    "api_v1.get_claim": {"GET": STAFF_A | MOD_IN},
    "api_v1.create_claim": {"POST": ORG_STAFF},
    "api_v1.deliver_claim": {"POST": STAFF_A},
    "api_v1.cancel_claim": {"POST": STAFF_A},
    "api_v1.confirm_claim": {"POST": MOD_IN},
    "api_v1.dispute_claim": {"POST": MOD_IN},
    "api_v1.respond_to_dispute": {"POST": STAFF_A},
    "api_v1.resolve_dispute": {"POST": MOD_IN},
    "api_v1.extend_claim": {"POST": MOD_IN},
    "api_v1.reverse_donation": {"POST": ADMIN_A},
    "api_v1.stats": {"GET": ALL},
    "api_v1.openapi_json": {"GET": ALL},
    "api_v1.docs": {"GET": ALL},
    # feeds, sitemap, embeds (public half only, the same for everyone)
    "portals.needs_feed": {"GET": ALL},
    "portals.projects_feed": {"GET": ALL},
    "portals.sitemap": {"GET": ALL},
    "portals.sitemap_page": {"GET": ALL},
    "portals.robots": {"GET": ALL},
    "portals.embed_needs": {"GET": ALL},
    "portals.embed_projects": {"GET": ALL},
    "portals.embed_docs": {"GET": ALL},
    # complaints: anyone submits and tracks; moderators of the subject's region
    # (the world's complaint is about org A) handle them
    "complaints.new": {"GET": ALL, "POST": ALL},
    "complaints.find": {"GET": ALL},
    "complaints.track": {"GET": ALL},
    "complaints.queue": {"GET": MODS},
    "complaints.detail": {"GET": MOD_IN},
    "complaints.accept": {"GET": MOD_IN, "POST": MOD_IN},
    "complaints.contact": {"GET": MOD_IN, "POST": MOD_IN},
    "complaints.resolve": {"GET": MOD_IN, "POST": MOD_IN},
    "api_v1.submit_complaint": {"POST": ALL},
    "api_v1.track_complaint": {"GET": ALL},
    "api_v1.list_complaints": {"GET": MODS},
    "api_v1.accept_complaint": {"POST": MOD_IN},
    "api_v1.resolve_complaint": {"POST": MOD_IN},
    "integrity.index": {"GET": MODS},  # scoped to the moderator's region
    "integrity.dismiss": {"POST": MODS},
    "api_v1.list_signals": {"GET": MODS},
    "api_v1.dismiss_signal": {"POST": MODS},
    # webhooks
    # consents, who saw what, exports with private data (privacy/)
    "privacy.need_consents": {"GET": MOD_IN, "POST": MOD_IN},
    "privacy.attach_form": {"POST": MOD_IN},
    "privacy.form_file": {"GET": MOD_IN},
    "privacy.withdraw": {"POST": MOD_IN},
    "privacy.household_access": {"GET": MOD_IN},
    "privacy.flags": {"GET": ADMIN},
    "exports.mod_private_export": {"POST": MODS},
    "exports.mod_private_download": {"GET": MODS},
    "api_v1.list_consents": {"GET": MOD_IN},
    "api_v1.create_consent": {"POST": MOD_IN},
    "api_v1.withdraw_consent": {"POST": MOD_IN},
    "webhooks.index": {"GET": HOOK_OWNERS, "POST": HOOK_OWNERS},
    "webhooks.detail": {"GET": ADMIN_A},
    "webhooks.act": {"POST": ADMIN_A},
    "api_v1.create_webhook": {"POST": HOOK_OWNERS},
    "api_v1.list_webhooks": {"GET": LOGGED_IN},
    "api_v1.get_webhook": {"GET": ADMIN_A},
    "api_v1.pause_webhook": {"POST": ADMIN_A},
    "api_v1.resume_webhook": {"POST": ADMIN_A},
    # offers: the public reads open ones; org A's staff change org A's; the
    # suggestions are for verified orgs' staff and the moderators of the region
    "offers.public_list": {"GET": ALL},
    "offers.public_detail": {"GET": ALL},
    "offers.org_list": {"GET": ORG_STAFF},
    "offers.new": {"GET": ORG_STAFF, "POST": ORG_STAFF},
    "offers.edit": {"GET": STAFF_A, "POST": STAFF_A},
    "offers.org_detail": {"GET": STAFF_A},
    "offers.act": {"POST": STAFF_A},
    "offers.export": {"GET": ORG_STAFF},  # one's own org's offers only
    "offers.import_file": {"GET": ORG_STAFF, "POST": ORG_STAFF},
    "api_v1.list_offers": {"GET": ALL},
    "api_v1.get_offer": {"GET": ALL},
    "api_v1.create_offer": {"POST": ORG_STAFF},
    "api_v1.pause_offer": {"POST": STAFF_A},
    "api_v1.reopen_offer": {"POST": STAFF_A},
    "api_v1.close_offer": {"POST": STAFF_A},
    "api_v1.offer_matches": {"GET": STAFF_A | MOD_IN},
    "api_v1.need_matches": {"GET": ORG_STAFF | MOD_IN},
    "api_v1.list_webhook_deliveries": {"GET": ADMIN_A},
    # requests from the person (privacy)
    "privacy_requests.index": {"GET": MODS},  # scoped to the moderator's region
    "privacy_requests.create": {"POST": MODS},
    "privacy_requests.detail": {"GET": MOD_IN},
    "privacy_requests.export": {"GET": MOD_IN, "POST": MOD_IN},
    "privacy_requests.correct": {"GET": MOD_IN, "POST": MOD_IN},
    "privacy_requests.erase": {"GET": MOD_IN, "POST": MOD_IN},
    "privacy_requests.close": {"GET": MOD_IN, "POST": MOD_IN},
    "api_v1.list_privacy_requests": {"GET": MODS},  # scoped to the region
    "api_v1.create_privacy_request": {"POST": MODS},
    "api_v1.get_privacy_request_file": {"GET": MOD_IN},
    "api_v1.close_privacy_request": {"POST": MOD_IN},
    # pairing (结对关爱): the org delivers and ends, the region's moderators
    # confirm and end
    "api_v1.list_instalments": {"GET": STAFF_A | MOD_IN},
    "api_v1.deliver_instalment": {"POST": STAFF_A},
    "api_v1.confirm_instalment": {"POST": MOD_IN},
    "api_v1.end_pairing": {"POST": STAFF_A | MOD_IN},
    "pairing.deliver": {"POST": STAFF_A},
    "pairing.confirm": {"POST": MOD_IN},
    "pairing.end": {"POST": STAFF_A | MOD_IN},
    # matching (供需对接): org A's offer; sessions of org A's claim
    "claims.offer_match": {"GET": STAFF_A, "POST": STAFF_A},
    "claims.add_session": {"POST": STAFF_A},
    # org A's staff match; moderators propose instead (the need's region is in
    # the body: a moderator of another region is refused after it)
    "api_v1.match_offer": {"POST": STAFF_A},
    "api_v1.propose_offer_match": {"POST": MOD_IN},
    "api_v1.create_session": {"POST": STAFF_A},
    "api_v1.list_sessions": {"GET": STAFF_A | MOD_IN},
    # a moderator proposes a match of any org's offer; its org accepts or declines
    "claims.propose_match": {"GET": MODS, "POST": MODS},
    "claims.accept_proposal": {"POST": STAFF_A},
    "claims.decline_proposal": {"POST": STAFF_A},
}


def _cases(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(r.endpoint, m) for r in rules(app) for m in methods(r)]


def test_every_route_has_an_expectation(app):
    missing = sorted(
        f"{endpoint} {method}"
        for endpoint, method in _cases(app)
        if method not in EXPECT.get(endpoint, {})
    )
    assert not missing, (
        "Routes without an access expectation (add them to EXPECT in "
        f"tests/security/test_access_matrix.py): {missing}"
    )


def test_no_stale_expectations(app):
    known = {endpoint for endpoint, _m in _cases(app)}
    assert not sorted(set(EXPECT) - known)


def _refused(role: str, url: str, resp) -> bool:  # type: ignore[no-untyped-def]
    if resp.status_code in (403, 404):
        return True
    if role == "public":
        if url.startswith("/api/"):
            return resp.status_code == 401
        return resp.status_code == 302 and "/login" in resp.headers["Location"]
    return False


def test_get_routes_answer_each_role_as_expected(app, world, login_as):
    caller = Caller(app, world, login_as)
    wrong = []
    for rule in rules(app):
        if "GET" not in methods(rule) or "GET" not in EXPECT.get(rule.endpoint, {}):
            continue
        url = url_for_rule(app, rule, world)
        allowed = EXPECT[rule.endpoint]["GET"]
        for role in ROLES:
            resp = caller.request(role, "GET", url)
            if role in allowed:
                ok = (
                    resp.status_code == 200
                    or (rule.endpoint in REDIRECT_OK and resp.status_code == 302)
                    or (rule.endpoint in NOT_FOUND_OK and resp.status_code == 404)
                    or (rule.endpoint in BAD_LINK_OK and resp.status_code == 400)
                )
            else:
                ok = _refused(role, url, resp)
            if not ok:
                wrong.append(f"{role} GET {url} ({rule.endpoint}) → {resp.status_code}")
    assert not wrong, "\n".join(wrong)


def test_post_routes_refuse_other_roles_and_change_nothing(app, world, login_as):
    caller = Caller(app, world, login_as)
    for role in ROLES:  # tokens first: issuing one is audited
        if role != "public":
            caller.token(role)
    wrong = []
    for rule in rules(app):
        if "POST" not in methods(rule) or "POST" not in EXPECT.get(rule.endpoint, {}):
            continue
        url = url_for_rule(app, rule, world)
        allowed = EXPECT[rule.endpoint]["POST"]
        for role in ROLES:
            if role in allowed:
                continue
            before = state_counts()
            resp = caller.request(role, "POST", url)
            after = state_counts()
            refused = _refused(role, url, resp) or (
                rule.endpoint in VALIDATES_FIRST and resp.status_code == 422
            )
            if not refused or before != after:
                wrong.append(
                    f"{role} POST {url} ({rule.endpoint}) → {resp.status_code}"
                    + ("" if before == after else f", rows {before} → {after}")
                )
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ["admin_b", "mod_out"])
def test_other_tenants_objects_are_not_even_listed(app, world, login_as, role):
    """Lists scoped to an org or region do not show others' objects."""
    caller = Caller(app, world, login_as)
    if role == "admin_b":
        body = caller.request(role, "GET", "/org/claims").get_data(as_text=True)
        assert world.need.code not in body
        data = caller.request(role, "GET", "/api/v1/claims").get_json()
        assert world.claim.id not in {c["id"] for c in data.get("items", data)}
    else:
        body = caller.request(role, "GET", "/mod/needs").get_data(as_text=True)
        assert world.need.code not in body
