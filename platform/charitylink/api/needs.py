"""Needs in the API: entry and review by moderators, the public library.

Public responses carry the anonymised half only; the household appears masked
in the answer to a create, and in full only from ``/needs/{code}/private``
(audited). ``POST /needs/{code}/claims`` lives in ``api/claims.py`` and
``POST /needs/import`` in the import module.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from charitylink.accounts.models import User
from charitylink.api import (
    ApiError,
    bp,
    created,
    json_body,
    reason_body,
    require_user,
)
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.money import MAX_AMOUNT_FEN
from charitylink.core.permissions import is_moderator
from charitylink.core.timeutil import iso_utc
from charitylink.needs import privacy, queries, services
from charitylink.needs.models import (
    PUBLIC_STATUSES,
    Category,
    Need,
    NeedType,
    Urgency,
)
from charitylink.needs.validation import clean_need_input
from charitylink.regions import services as regions


def need_json(need: Need) -> dict[str, Any]:
    """The public half of a need (region = the coarsened one).

    Never ``external_id`` (the monitoring platform's id, once found holding an ID
    number) nor ``legacy_code`` (names the county): moderators get those from
    ``_work_json``.
    """
    return {
        "code": need.code,
        "title": need.title,
        "description": need.description,
        "category": need.category,
        "need_type": need.need_type,
        "region_code": need.public_region_code,
        "region_name": regions.full_name(need.public_region_code),
        "age_band": need.age_band,
        "household_size": need.household_size,
        "gov_assistance": list(need.gov_assistance or []),
        "amount": need.amount_fen,
        "in_kind": need.in_kind,
        "items": list(need.items or []) if need.in_kind else None,
        "claimed_amount": need.claimed_fen,
        "delivered_amount": need.delivered_fen,
        "urgency": need.urgency,
        "deadline": need.deadline_on.isoformat() if need.deadline_on else None,
        "status": need.status,
        "published_at": iso_utc(need.published_at),
    }


def _moderator() -> User:
    user = require_user()
    if not is_moderator(user):
        raise ApiError(403, "forbidden", _("只有民政审核员可以执行此操作。"))
    return user


def _load_for(user: User, code: str) -> Need:
    # Also a first-release code (moderators only); answers carry the current one.
    return queries.get_for_moderator_or_404(code, user)


def _work_json(need: Need) -> dict[str, Any]:
    """What a moderator gets back after a change: public half + workflow fields."""
    body = need_json(need)
    body["external_id"] = need.external_id
    body["legacy_code"] = need.legacy_code
    body["region_code"] = need.region_code
    body["region_name"] = regions.full_name(need.region_code)
    body["public_region_code"] = need.public_region_code
    body["status_reason"] = need.status_reason
    return body


@bp.post("/needs")
def create_need() -> ResponseReturnValue:
    user = _moderator()
    data = json_body("NeedInput", also=clean_need_input)
    need = services.create_need(data, user)
    dup = services.duplicate_summary(need.household_key, need.id)
    body = _work_json(need)
    body["household"] = privacy.masked_household(privacy.decrypt_household(need))
    body["duplicates"] = {
        "open_needs": [n.code for n in dup["open_needs"]],
        "received_last_12_months": dup["received_fen"],
        "org_count": dup["org_count"],
    }
    return created(body)


def _amount(name: str, text: str) -> params.Param:
    return params.Param(name, text, kind="integer", minimum=0, maximum=MAX_AMOUNT_FEN)


LIST_PARAMS = [
    params.Param("q", "关键词（中文分词检索；返回 facets）", max_length=100),
    params.region_prefix("行政区划代码前缀（2–6 位，如 22、2205）", high=6),
    params.Param("category", "家庭类别", enum=params.enum_values(Category)),
    params.Param("need_type", "需求类型", enum=params.enum_values(NeedType)),
    params.Param("urgency", "紧急程度", enum=params.enum_values(Urgency)),
    params.Param("status", "状态", enum=tuple(str(s) for s in PUBLIC_STATUSES)),
    _amount("min_amount", "最低金额（分）"),
    _amount("max_amount", "最高金额（分）"),
    params.Param(
        "sort",
        "排序（带 q 时默认 relevance，否则 newest）",
        enum=queries.ACCEPTED_SORTS,
    ),
    *params.paging(),
]


@bp.get("/needs")
def list_needs() -> ResponseReturnValue:
    params.parse(LIST_PARAMS, request.args)  # strict: a bad value is a 422
    f = queries.parse_filters(request.args, money="fen")
    if f.q:  # free text: the search engine (issue 4), same filters
        from charitylink.search.service import search_needs

        sort = f.sort if request.args.get("sort") else "relevance"
        found = search_needs(f.q, f.as_dict(), sort, f.page, f.per_page)
        rows, total = found.items, found.total
        if found.message:
            f.ignored.append(found.message)
    else:
        found = None
        rows, total = queries.public_needs(f.as_dict(), f.sort, f.page, f.per_page)
    body: dict[str, Any] = {
        "items": [need_json(n) for n in rows],
        "total": total,
        "page": f.page,
        "per_page": f.per_page,
    }
    if found is not None:  # counts beside the results: region, category, type
        body["facets"] = found.facets_json()
    if f.ignored:
        body["warnings"] = f.ignored
    return jsonify(body)


@bp.get("/needs/<code>")
def get_need(code: str) -> ResponseReturnValue:
    return jsonify(need_json(queries.get_public_or_404(code)))


@bp.get("/needs/<code>/private")
def get_private(code: str) -> ResponseReturnValue:
    user = _moderator()
    need = _load_for(user, code)
    household = services.get_private(need, user)
    resp = jsonify({"code": need.code, "household": household})
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/needs/<code>/submit")
def submit_need(code: str) -> ResponseReturnValue:
    user = _moderator()
    need = _load_for(user, code)
    services.submit_need(need, user)
    return jsonify(_work_json(need))


@bp.post("/needs/<code>/approve")
def approve_need(code: str) -> ResponseReturnValue:
    user = _moderator()
    need = _load_for(user, code)
    services.approve_need(need, user)
    return jsonify(_work_json(need))


@bp.post("/needs/<code>/reject")
def reject_need(code: str) -> ResponseReturnValue:
    user = _moderator()
    need = _load_for(user, code)
    services.reject_need(need, user, reason_body())
    return jsonify(_work_json(need))


@bp.post("/needs/<code>/withdraw")
def withdraw_need(code: str) -> ResponseReturnValue:
    user = _moderator()
    need = _load_for(user, code)
    services.withdraw_need(need, user, reason_body())
    return jsonify(_work_json(need))
