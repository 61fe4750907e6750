"""Hypothesis fuzz of every form and JSON endpoint, and of the query strings of
every GET page (rule 8: no request ever produces a 500 from bad input; a refused
request changes nothing). Bounded: a few examples per endpoint, about a minute.

Each request is sent as a role that may use the endpoint (EXPECT in the access
matrix), so the input reaches validation instead of stopping at authorization.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import state_counts
from tests.security.routes import Caller, methods, rules, url_for_rule
from tests.security.test_access_matrix import EXPECT

FIELDS = [
    "amount", "amount_fen", "delivered_amount", "delivered_on", "method", "note",
    "fund_id", "project_id", "need_id", "reason", "title", "summary", "body",
    "description", "category", "need_type", "need_types", "region", "region_code",
    "region_codes", "region_prefix", "household", "household_size", "gov_assistance",
    "urgency", "deadline", "items", "in_kind", "external_id", "name", "uscc",
    "org_type", "email", "password", "admin", "admin_email", "admin_password",
    "donor_name", "donor", "reference", "kind", "target_amount", "start_on", "end_on",
    "filing_number", "contact_phone", "current_password", "new_password", "role",
    "status", "org_id", "verified", "rows", "q", "page", "per_page", "sort",
    "min_amount", "max_amount",
]  # fmt: skip

NASTY = [
    "", " ", "0", "-1", "1e309", "NaN", "Infinity", "9" * 40, "2026-02-30",
    "2026-13-01", "0000-00-00", "220102", "22", "'; DROP TABLE needs; --",
    "<script>alert(1)</script>", "../../etc/passwd", "\x00", "１２３", "¥1,000.50",
    "null", "[]", "{}", "true", "medical", "cash", "published", "漢字" * 300,
]  # fmt: skip

texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        texts,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4),
    ),
    max_leaves=8,
)
json_bodies = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(FIELDS), texts), json_values, max_size=8),
    json_values,  # not an object at all
)
form_bodies = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), texts, max_size=10
)
query_strings = st.dictionaries(
    st.sampled_from(FIELDS), st.one_of(texts, st.integers().map(str)), max_size=5
)

PREFERRED = ("admin_a", "member_a", "mod_in", "admin", "admin_b", "mod_out")
REFUSED = {400, 401, 403, 404, 405, 409, 413, 415, 422, 429}
# Reading the private half and exporting are audited (rule 5, docs/product.md).
AUDITED_GETS = {
    "api_v1.get_private",
    "exports.mod_export",
    "exports.org_export",
    "api_v1.get_privacy_request_file",
}
FUZZ = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _role(endpoint: str, method: str) -> str:
    allowed = EXPECT.get(endpoint, {}).get(method, frozenset())
    return next((r for r in PREFERRED if r in allowed), "public")


class _Last(logging.Handler):
    """Keeps the last logged traceback, to show why a request answered 500."""

    text = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            _Last.text = "".join(traceback.format_exception(*record.exc_info))[-3000:]


logging.getLogger("charitylink").addHandler(_Last())


def _check(resp: Any, before: tuple[int, ...], what: str) -> None:
    assert resp.status_code < 500, f"{what} → {resp.status_code}\n{_Last.text}"
    if resp.status_code in REFUSED:
        assert state_counts() == before, f"{what} refused but changed the state"


def test_fuzz_every_post_endpoint(app, world, login_as):
    caller = Caller(app, world, login_as)
    for role in PREFERRED:  # issuing a token is audited: not inside a check
        caller.token(role)
    targets = [
        (rule, url_for_rule(app, rule, world))
        for rule in rules(app)
        if "POST" in methods(rule)
    ]
    assert len(targets) > 30

    for rule, url in targets:
        _post_fuzzer(caller, url, _role(rule.endpoint, "POST"))()


def _post_fuzzer(caller: Caller, url: str, role: str) -> Any:
    is_api = url.startswith("/api/")

    @FUZZ
    @given(body=json_bodies if is_api else form_bodies, raw=st.booleans())
    def run(body: Any, raw: bool) -> None:
        before = state_counts()
        if is_api and raw:
            # Not JSON, or JSON with the wrong content type.
            resp = caller.request(
                role,
                "POST",
                url,
                json=None,
                data=json.dumps(body, default=str)[:-1] or "{",
                content_type="application/json",
            )
        elif is_api:
            resp = caller.request(role, "POST", url, json=body)
        else:
            resp = caller.request(role, "POST", url, data=body)
        _check(resp, before, f"{role} POST {url} {body!r:.200}")

    return run


def test_fuzz_every_get_page_query_string(app, world, login_as):
    caller = Caller(app, world, login_as)
    for role in PREFERRED:
        caller.token(role)
    targets = [
        (rule, url_for_rule(app, rule, world))
        for rule in rules(app)
        if "GET" in methods(rule)
    ]

    for rule, url in targets:
        _get_fuzzer(
            caller, url, _role(rule.endpoint, "GET"), rule.endpoint in AUDITED_GETS
        )()


def _get_fuzzer(caller: Caller, url: str, role: str, audited: bool) -> Any:
    @settings(FUZZ, max_examples=5)
    @given(params=query_strings)
    def run(params: dict[str, str]) -> None:
        before = state_counts()
        resp = caller.request(role, "GET", url, query_string=params)
        assert resp.status_code < 500, f"{role} GET {url} {params!r} → 500"
        # GETs change nothing, except the audit row of a private view/export.
        if not audited:
            assert state_counts() == before, f"GET {url} {params!r} changed state"

    return run
