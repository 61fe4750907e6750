"""Fixed hostile shapes sent to every endpoint (the fuzz in test_fuzz.py draws
random ones; these are the shapes a penetration test found to answer 500):

- a lone UTF-16 surrogate (``"\\ud800"``) in any JSON string or key;
- 100,000 nested ``[`` as a JSON body;
- a lone surrogate as percent-encoded bytes (``%ED%A0%80``) in a form post, a
  multipart post and a query string;
- extreme dates (``0001-01-01``, ``9999-12-31``) in every date parameter of every
  page and API query, and in every date field of every JSON body.

The API answers 400 with the error envelope; a page answers a clear message;
nothing changes and nothing answers 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.security.conftest import state_counts
from tests.security.routes import Caller, methods, rules, url_for_rule
from tests.security.test_fuzz import FIELDS, PREFERRED, REFUSED, _Last, _role

SURROGATE = "\ud800"
DATE_KEYS = ("from", "to", "deadline", "start_on", "end_on", "delivered_on", "on")
EXTREME_DATES = ("0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01")


def _targets(app, world, method: str) -> list[tuple[str, str, str]]:
    return [
        (rule.endpoint, url_for_rule(app, rule, world), _role(rule.endpoint, method))
        for rule in rules(app)
        if method in methods(rule)
    ]


def _no_500(resp: Any, what: str) -> None:
    assert resp.status_code < 500, f"{what} → {resp.status_code}\n{_Last.text}"


def _envelope_400(resp: Any, what: str) -> None:
    _no_500(resp, what)
    assert resp.status_code == 400, f"{what} → {resp.status_code} {resp.data[:300]!r}"
    error = resp.json["error"]
    assert error["code"] == "bad_request" and set(error) == {
        "code",
        "message",
        "fields",
    }
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error


@pytest.fixture
def caller(app, world, login_as) -> Caller:
    c = Caller(app, world, login_as)
    for role in PREFERRED:
        c.token(role)
    return c


def test_json_with_a_lone_surrogate_is_a_400_everywhere(app, world, caller) -> None:
    bodies = [
        # In a value of every field name any endpoint reads ...
        json.dumps({name: SURROGATE for name in FIELDS}),
        # ... deep inside a nested object, as a key, and as the whole body.
        json.dumps({"admin": {"email": f"a{SURROGATE}@x.org"}, "rows": [{}]}),
        json.dumps({SURROGATE: 1}),
        json.dumps(SURROGATE),
    ]
    targets = [t for t in _targets(app, world, "POST") if t[1].startswith("/api/")]
    assert len(targets) > 10
    for _endpoint, url, role in targets:
        for body in bodies:
            before = state_counts()
            resp = caller.request(
                role, "POST", url, json=None, data=body, content_type="application/json"
            )
            _envelope_400(resp, f"{role} POST {url} {body[:60]}")
            assert state_counts() == before, url


def test_deeply_nested_json_is_a_400_everywhere(app, world, caller) -> None:
    deep = "[" * 100_000
    targets = [t for t in _targets(app, world, "POST") if t[1].startswith("/api/")]
    for _endpoint, url, role in targets:
        for body in (deep, deep + "]" * 100_000, '{"a":' * 50 + "1" + "}" * 50):
            before = state_counts()
            resp = caller.request(
                role,
                "POST",
                url,
                json=None,
                data=body,
                content_type="application/json",
                headers={"Idempotency-Key": "deep-nesting-1"},
            )
            _envelope_400(resp, f"{role} POST {url} nested {len(body)}")
            assert state_counts() == before, url


def test_percent_encoded_surrogates_in_forms_and_queries_never_500(
    app, world, caller
) -> None:
    encoded = "%ED%A0%80"
    form = "&".join(f"{name}={encoded}" for name in FIELDS)
    for _endpoint, url, role in _targets(app, world, "POST"):
        if url.startswith("/api/"):
            continue
        before = state_counts()
        resp = caller.request(
            role,
            "POST",
            url,
            data=form,
            content_type="application/x-www-form-urlencoded",
        )
        _no_500(resp, f"{role} POST {url} (urlencoded surrogate)")
        if resp.status_code in REFUSED:
            assert state_counts() == before, url
        multipart = (
            b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
            b"\xed\xa0\x80\r\n--b\r\nContent-Disposition: form-data; "
            b'name="\xed\xa0\x80"\r\n\r\n\xed\xa0\x80\r\n--b--\r\n'
        )
        resp = caller.request(
            role,
            "POST",
            url,
            data=multipart,
            content_type="multipart/form-data; boundary=b",
        )
        _no_500(resp, f"{role} POST {url} (multipart surrogate)")
    query = "&".join(f"{name}={encoded}" for name in (*FIELDS, *DATE_KEYS))
    for _endpoint, url, role in _targets(app, world, "GET"):
        resp = caller.request(role, "GET", f"{url}?{query}")
        _no_500(resp, f"{role} GET {url} (query surrogate)")


@pytest.mark.parametrize("day", EXTREME_DATES)
def test_extreme_dates_in_every_query_never_500(app, world, caller, day) -> None:
    for _endpoint, url, role in _targets(app, world, "GET"):
        params = {key: day for key in DATE_KEYS}
        resp = caller.request(role, "GET", url, query_string=params)
        _no_500(resp, f"{role} GET {url} dates={day}")


@pytest.mark.parametrize("day", EXTREME_DATES)
def test_extreme_dates_in_every_json_body_never_500(app, world, caller, day) -> None:
    body = {key: day for key in DATE_KEYS}
    for _endpoint, url, role in _targets(app, world, "POST"):
        if not url.startswith("/api/"):
            continue
        before = state_counts()
        resp = caller.request(role, "POST", url, json=body)
        _no_500(resp, f"{role} POST {url} dates={day}")
        if resp.status_code in REFUSED:
            assert state_counts() == before, url


@pytest.mark.parametrize(
    "query", ["from=0001-01-01", "to=9999-12-31", "from=0001-01-01&to=9999-12-31"]
)
def test_audit_page_refuses_extreme_dates_with_a_message(
    client, login_as, create_user, query
) -> None:
    login_as(create_user("moderator", region_prefix="22"))
    resp = client.get(f"/mod/audit?{query}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "超出范围（2000-01-01 至 2100-12-31）" in page
