"""The server speaks, not the browser: every form of the app that has a field
the browser could check on its own (a WTForms field with ``required``, a
``required`` attribute, a typed input) carries ``novalidate``, so an empty
required amount gets the server's Chinese message next to the field instead
of the browser's bubble in the browser's language."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
FORM = re.compile(r"(<form\b[^>]*>)(.*?)</form>", re.S)
CHECKED = re.compile(
    r"\brequired\b|\bfield\(|form\.\w+\(|\{\{ *f\(|type=\"(?:email|number|url)\""
)


def test_every_form_with_checkable_fields_has_novalidate():
    missing = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for opening, body in FORM.findall(path.read_text()):
            if 'method="get"' in opening:
                continue  # filters: nothing is required
            if CHECKED.search(body) and "novalidate" not in opening:
                missing.append(f"{path.relative_to(TEMPLATES)}: {opening}")
    assert not missing, "\n".join(missing)


def test_an_empty_claim_amount_gets_the_servers_chinese_message(
    client, login_as, create_org, create_fund, create_need
):
    from tests.factories import org_admin_of

    org = create_org()
    fund = create_fund(org=org, donations_fen=1_000_000)
    need = create_need(amount_fen=10_000)
    login_as(org_admin_of(org))
    page = client.get(f"/needs/{need.code}").get_data(as_text=True)
    claim_form = page[page.index('action="/needs/') :]
    assert "novalidate" in claim_form[: claim_form.index(">")]
    resp = client.post(
        f"/needs/{need.code}/claim", data={"fund_id": fund.id, "amount": ""}
    )
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "请填写金额。" in html
