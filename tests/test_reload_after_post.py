"""Reloading (or reopening) the address of a POST result never answers 405:
the GET goes back to the page the action was taken from, and shows nothing
that only the POST may show."""

from __future__ import annotations

from charitylink.orgs.models import OrgStatus


def test_a_refused_org_rejection_reloaded_goes_back_to_the_review(
    client, login_as, create_org, create_user
):
    org = create_org(status=OrgStatus.PENDING)
    login_as(create_user("moderator", region_prefix="22"))
    refused = client.post(f"/mod/orgs/{org.id}/reject", data={"reject-reason": ""})
    assert refused.status_code == 422  # the page of this POST, with the message
    again = client.get(f"/mod/orgs/{org.id}/reject")
    assert again.status_code == 302
    assert again.headers["Location"].endswith(f"/mod/orgs/{org.id}")


def test_a_household_reveal_reloaded_goes_back_to_the_masked_review(
    client, login_as, create_need, create_user
):
    need = create_need(status="submitted")
    login_as(create_user("moderator", region_prefix="22"))
    again = client.get(f"/mod/needs/{need.code}/reveal")
    assert again.status_code == 302
    assert again.headers["Location"].endswith(f"/mod/needs/{need.code}")
