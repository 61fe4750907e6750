"""Needs in the API: entry and review by moderators, the public library.

Public responses carry the anonymised half only; the household appears masked
in the answer to a create, and in full only from ``/needs/{code}/private``
(audited). ``POST /needs/{code}/claims`` lives in ``api/claims.py`` and
``POST /needs/import`` in the import module.
"""

from __future__ import annotations

from typing import Any, cast

from flask import request
from marshmallow import fields as mfields

from charitylink.accounts.models import User
from charitylink.api import (
    PUBLIC,
    WRITE_ERRORS,
    ApiError,
    accepts,
    body,
    bp,
    operation,
    reason_body,
    require_user,
)
from charitylink.api.fields import (
    FEN_TEXT,
    ID_MAX,
    PRIVACY_SCAN,
    Alternatives,
    Answer,
    Body,
    Boolean,
    Day,
    Integer,
    Many,
    Text,
    Timestamp,
    choice,
    day,
    depends,
    integer,
    items,
    money,
    nested,
    region,
    string,
    text,
)
from charitylink.api.fields import phone as phone_field
from charitylink.api.reasons import ReasonSchema
from charitylink.core import params
from charitylink.core.i18n import _
from charitylink.core.money import MAX_AMOUNT_FEN
from charitylink.core.permissions import is_moderator, require_moderator
from charitylink.needs import privacy, queries, services
from charitylink.needs.models import (
    PUBLIC_STATUSES,
    AssistanceType,
    Category,
    Need,
    NeedStatus,
    NeedType,
    Urgency,
)
from charitylink.needs.validation import clean_need_input
from charitylink.regions import services as regions


class GovAssistanceSchema(Body):
    type = choice(AssistanceType, "救助类型", required=True)
    monthly_amount = money("每月金额（分）", low=0, required=True)


class ItemSchema(Body):
    name = text(60, "物品名称", filled=True, required=True)
    quantity = integer("数量", low=1, high=100000)


class HouseholdInputSchema(Body):
    name = text(40, "姓名", filled=True, required=True)
    id_number = string(
        "身份证号码",
        required=True,
        pattern=r"^[0-9]{17}[0-9Xx]$",
        description="18 位公民身份号码（地区码、出生日期和校验码须正确）",
        format="cn-id-number",
    )
    phone = depends(
        phone_field("联系电话"),
        "consent_share_contact",
        "手机或固定电话；家庭同意提供联系方式时必填",
    )
    address = text(200, "地址", nullable=True)
    region_code = depends(
        string(
            "乡镇（街道）代码",
            nullable=True,
            pattern=r"^([0-9]{6}([0-9]{3}){0,2})?$",
        ),
        "region_code",
        "乡镇（街道）代码，9 或 12 位，须以需求的县级代码开头",
    )
    notes = text(2000, "备注", nullable=True)
    consent_share_contact = Boolean(
        load_default=False,
        metadata={
            "title": "同意提供联系方式",
            "description": "true 时登记一项书面同意（share_contact，录入人登记，"
            "同意日期为今天），已有有效同意时不重复登记；false 不撤回已有同意"
            "（撤回须填写原因：POST /api/v1/consents/{id}/withdraw）。不满 14 周岁"
            "的须另行登记监护人同意",
        },
    )


class NeedInputSchema(Body):
    external_id = depends(
        text(64, "外部编号", nullable=True),
        "privacy scan",
        "来源系统的编号；导入时必填。不得是身份证号等个人信息",
    )
    title = depends(
        text(120, "标题", filled=True, required=True), "privacy scan", PRIVACY_SCAN
    )
    description = depends(
        text(5000, "描述", filled=True, required=True), "privacy scan", PRIVACY_SCAN
    )
    category = choice(Category, "家庭类别", required=True)
    need_type = choice(NeedType, "需求类型", required=True)
    region_code = region(
        "县级区划代码",
        "县级行政区划代码（6 位，须存在）",
        required=True,
        fmt="region-county",
    )
    household_size = integer("家庭人口", low=1, high=30, required=True)
    gov_assistance = items(
        nested(GovAssistanceSchema), "已获政府救助", max_items=10, nullable=True
    )
    amount = money("金额（分）", required=True)
    in_kind = Boolean(load_default=False, metadata={"title": "是否实物"})
    items = depends(
        items(nested(ItemSchema), "物品清单", max_items=30, nullable=True),
        "in_kind",
        "物品清单；in_kind 为 true 时必填（1–30 项）",
    )
    urgency = choice(Urgency, "紧急程度", nullable=True)
    deadline = depends(
        day("截止日期", nullable=True), "today", "截止日期，不能早于今天"
    )
    household = nested(HouseholdInputSchema, "家庭信息", required=True)


class NeedSchema(Answer):
    """The public half of a need (region = the coarsened one).

    Never ``external_id`` (the monitoring platform's id, once found holding an ID
    number) nor ``legacy_code`` (names the county): moderators get those from
    ``NeedWorkSchema``."""

    REGION = "public_region_code"

    code = Text(
        required=True,
        metadata={
            "pattern": r"^XQ-\d{2}-\d{6,}$",
            "description": "需求编号：XQ-省级代码(2位)-序号，如 XQ-22-000123",
        },
    )
    title = Text(required=True)
    description = Text()
    category = choice(Category, required=True)
    need_type = choice(NeedType, required=True)
    region_code = Text(attribute="public_region_code", required=True)
    region_name = Text()
    age_band = Text()
    household_size = Integer()
    gov_assistance = Many(mfields.Nested(GovAssistanceSchema))
    amount = Integer(
        attribute="amount_fen", required=True, metadata={"description": FEN_TEXT}
    )
    in_kind = Boolean()
    items = mfields.List(
        mfields.Nested(ItemSchema),
        allow_none=True,
        metadata={"description": "物品清单（实物需求）；否则为 null"},
    )
    claimed_amount = Integer(
        attribute="claimed_fen", metadata={"description": FEN_TEXT}
    )
    delivered_amount = Integer(
        attribute="delivered_fen", metadata={"description": FEN_TEXT}
    )
    urgency = choice(Urgency)
    deadline = Day(attribute="deadline_on", allow_none=True)
    status = choice(NeedStatus, required=True)
    published_at = Timestamp(allow_none=True)

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        if isinstance(obj, dict):  # a new need with what its creator is told
            if attr in obj:
                return obj[attr]
            obj = obj["need"]
        if attr == "items":
            return list(obj.items or []) if obj.in_kind else None
        if attr == "region_name":  # of the region the answer shows
            return regions.full_name(getattr(obj, self.REGION))
        return super().get_attribute(obj, attr, default)


class HouseholdSchema(Answer):
    name = Text()
    id_number = Text()
    phone = Text(allow_none=True)
    address = Text(allow_none=True)
    region_code = Text(allow_none=True)
    notes = Text(allow_none=True)
    consent_share_contact = Boolean(
        metadata={"description": "现在是否有有效的 share_contact 同意记录"}
    )


class DuplicatesSchema(Answer):
    open_needs = mfields.Function(
        lambda d: [n.code for n in d["open_needs"]],
        metadata={"type": "array", "items": {"type": "string"}},
    )
    received_last_12_months = Integer(
        attribute="received_fen", metadata={"description": FEN_TEXT}
    )
    org_count = Integer()


class NeedWorkSchema(NeedSchema):
    """What a moderator sees of a need: the real county and the status reason; a
    new need also carries its masked household and the duplicates warning."""

    REGION = "region_code"

    region_code = Text(required=True)
    external_id = Text(allow_none=True)
    legacy_code = Text(
        allow_none=True,
        metadata={
            "description": "首版按区县编的旧编号（仅审核员可见，仍可用于审核员接口）"
        },
    )
    public_region_code = Text()
    status_reason = Text(allow_none=True)
    household = mfields.Nested(HouseholdSchema)
    duplicates = mfields.Nested(DuplicatesSchema)


class FacetSchema(Answer):
    value = Text(
        required=True, metadata={"description": "筛选值，可直接作为同名查询参数"}
    )
    label = Text(required=True, metadata={"description": "中文名称"})
    count = Integer(
        required=True, metadata={"description": "符合关键词和其他筛选条件的条数"}
    )


class SearchFacetsSchema(Answer):
    class Meta:
        description = (
            "仅在带 q（关键词）时返回：各筛选值的结果条数，按条数从多到少。"
            "region 比 region 参数细一级（不带 region 时为省，2 位；再到市、区县）；"
            "category 只用于需求。"
        )

    region = mfields.List(mfields.Nested(FacetSchema), required=True)
    category = mfields.List(mfields.Nested(FacetSchema))
    need_type = mfields.List(mfields.Nested(FacetSchema), required=True)


class NeedClaimSchema(Answer):
    """A claim on a need, as the need's moderators follow it."""

    id = Integer(required=True)
    org_id = Integer(required=True)
    org_name = mfields.Function(
        lambda c: c.org.name, required=True, metadata={"type": "string"}
    )
    status = Text(
        required=True,
        metadata={
            "enum": ["reserved", "delivered", "confirmed", "cancelled", "expired"]
        },
    )
    amount = Integer(
        attribute="amount_fen", required=True, metadata={"description": FEN_TEXT}
    )
    delivered_amount = Integer(
        attribute="delivered_fen", allow_none=True, metadata={"description": FEN_TEXT}
    )
    due_on = Day(allow_none=True)
    delivered_on = Day(allow_none=True)
    created_at = Timestamp(required=True)
    confirmed_at = Timestamp(allow_none=True)


class NeedSyncSchema(NeedWorkSchema):
    """A need in the moderators' sync: any status, when it last changed, and
    its claims with their statuses."""

    class Meta:
        exclude = ("household", "duplicates")

    updated_at = Timestamp(required=True)
    claims = Many(mfields.Nested(NeedClaimSchema), required=True)


def _item_schema(answer: Any) -> type[NeedSchema]:
    return (
        NeedSyncSchema
        if isinstance(answer, dict) and answer.get("sync")
        else NeedSchema
    )


class NeedPageSchema(Answer):
    items = Alternatives(
        (NeedSchema, NeedSyncSchema),
        _item_schema,
        required=True,
        metadata={
            "description": "公开需求（Need）；审核员同步时（带 updated_since、"
            "after_id 或 external_id）为本区划任意状态的需求（NeedSync）"
        },
    )
    total = Integer(required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)
    warnings = mfields.List(Text())
    facets = mfields.Nested(SearchFacetsSchema)
    next = Text(
        allow_none=True,
        metadata={
            "description": "仅审核员同步：下一页的地址（按 updated_at、id 续读）；"
            "读完后仍返回，供下次从此处继续"
        },
    )
    has_more = Boolean(metadata={"description": "仅审核员同步：是否还有下一页"})


class NeedPrivateSchema(Answer):
    code = Text(required=True)
    household = mfields.Nested(
        HouseholdSchema,
        required=True,
        allow_none=True,
        metadata={"description": "保存期限届满或应本人请求清除后为 null"},
    )
    purged_at = Timestamp(
        allow_none=True,
        metadata={"description": "隐私信息被清除的时间；未清除时为 null"},
    )


def _moderator() -> User:
    user = require_user()
    if not is_moderator(user):
        raise ApiError(403, "forbidden", _("只有民政审核员可以执行此操作。"))
    return user


def _load_for(user: User, code: str) -> Need:
    # Also a first-release code (moderators only); answers carry the current one.
    return queries.get_for_moderator_or_404(code, user)


@bp.post("/needs")
@operation(
    "createNeed",
    "录入一条需求（草稿，审核员）",
    "needs",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(NeedInputSchema)
@bp.response(201, NeedWorkSchema, description="成功")
def create_need() -> dict[str, Any]:
    user = _moderator()
    data = body(also=clean_need_input)
    need = services.create_need(data, user)
    return {
        "need": need,
        "household": privacy.masked_household(privacy.decrypt_household(need), need),
        "duplicates": services.duplicate_summary(need.household_key, need.id),
    }


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
# The monitoring platform's sync (moderators): any of these turns the list into
# the walk of the moderator's region (needs/sync.py).
SYNC_PARAMS = [
    params.Param(
        "updated_since",
        "审核员同步：只列此时刻（含）之后有变化的需求，ISO 8601；与 after_id "
        "合用为续读位置（取自上一页的 next）",
        max_length=40,
        format="date-time",
        example="2026-12-01T08:00:00+08:00",
    ),
    params.Param(
        "after_id",
        "审核员同步：与 updated_since 合用，只列 (updated_at, id) 在其后的需求"
        "（单独使用时不起作用）",
        kind="integer",
        minimum=0,
        maximum=ID_MAX,
    ),
    params.Param("external_id", "审核员同步：监测平台的编号", max_length=64),
]
LIST_PARAMS += SYNC_PARAMS


@bp.get("/needs")
@operation(
    "listNeeds",
    "需求库：已公开的需求（只有匿名信息）",
    "needs",
    errors=("401", "403", "422"),
    security=PUBLIC,
    params=LIST_PARAMS,
)
@bp.response(200, NeedPageSchema, description="成功；检索引擎不可用时 warnings 说明")
def list_needs() -> dict[str, Any]:
    args = params.parse(LIST_PARAMS, request.args)  # strict: a bad value is a 422
    if any(args[p.name] is not None for p in SYNC_PARAMS):
        return _sync(args)
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
    answer: dict[str, Any] = {
        "items": rows,
        "total": total,
        "page": f.page,
        "per_page": f.per_page,
    }
    if found is not None:  # counts beside the results: region, category, type
        answer["facets"] = found.facets_json()
    if f.ignored:
        answer["warnings"] = f.ignored
    return answer


def _sync(args: dict[str, Any]) -> dict[str, Any]:
    """The moderators' sync walk (docs/webhooks.md, "Sync")."""
    from urllib.parse import urlencode

    from charitylink.api import current_user_or_none
    from charitylink.core.timeutil import iso_utc
    from charitylink.needs import sync

    user = current_user_or_none()
    if user is None:
        raise ApiError(
            401,
            "unauthorized",
            _("同步需求须使用审核员的令牌（Authorization: Bearer）。"),
        )
    if not is_moderator(user):
        raise ApiError(403, "forbidden", _("只有民政审核员可以同步需求。"))
    raw_since = args["updated_since"]
    since = sync.parse_instant("updated_since", raw_since) if raw_since else None
    after_id = args["after_id"]
    if since is None:  # after_id continues a position, which has a time
        after_id = None
    per_page = args["per_page"]
    needs = sync.changed_needs(
        user,
        since=since,
        after_id=after_id,
        external_id=args["external_id"],
        limit=per_page,
    )
    position: dict[str, Any] | None = None
    if needs:
        position = {
            "updated_since": iso_utc(needs[-1].updated_at),
            "after_id": needs[-1].id,
        }
    elif raw_since:
        position = {"updated_since": raw_since, "after_id": after_id}
    following = None
    if position is not None:
        query = {k: v for k, v in position.items() if v is not None}
        if args["external_id"] is not None:
            query["external_id"] = args["external_id"]
        query["per_page"] = per_page
        following = "/api/v1/needs?" + urlencode(query)
    ignored = [
        p.name
        for p in LIST_PARAMS
        if p not in SYNC_PARAMS
        and p.name not in ("per_page",)
        and request.args.get(p.name) is not None
    ]
    answer: dict[str, Any] = {
        "sync": True,
        "items": sync.with_claims(needs),
        "total": len(needs),
        "page": 1,
        "per_page": per_page,
        "next": following,
        "has_more": len(needs) == per_page,
    }
    if ignored:
        answer["warnings"] = [_("同步时不使用这些参数：%(p)s。", p=", ".join(ignored))]
    return answer


@bp.get("/needs/<code>")
@operation(
    "getNeed",
    "需求详情（只有匿名信息）",
    "needs",
    errors=("401", "404"),
    security=PUBLIC,
)
@bp.response(200, NeedSchema, description="成功")
def get_need(code: str) -> Need:
    return queries.get_public_or_404(code)


@bp.get("/needs/<code>/private")
@operation(
    "getNeedPrivate",
    "需求的隐私信息（本区划审核员；每次查看都记入审计）",
    "needs",
    errors=("401", "403", "404"),
)
@bp.response(200, NeedPrivateSchema, description="成功")
def get_private(code: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    user = _moderator()
    need = _load_for(user, code)
    if need.purged_at is not None:
        # Erased: nothing to show, nothing seen (no audit of a view).
        require_moderator(user, need.region_code)
        return (
            {"code": need.code, "household": None, "purged_at": need.purged_at},
            200,
            {"Cache-Control": "no-store"},
        )
    household = services.get_private(need, user, api=True)
    return (
        {"code": need.code, "household": household, "purged_at": None},
        200,
        {"Cache-Control": "no-store"},
    )


class NeedClaimsSchema(Answer):
    code = Text(required=True)
    status = choice(NeedStatus, required=True)
    updated_at = Timestamp(required=True)
    claims = Many(mfields.Nested(NeedClaimSchema), required=True)


@bp.get("/needs/<code>/claims")
@operation(
    "listNeedClaims",
    "需求的认领及其状态（本区划审核员；任意状态的需求）",
    "needs",
    errors=("401", "403", "404"),
)
@bp.response(200, NeedClaimsSchema, description="成功；认领按时间先后")
def list_need_claims(code: str) -> dict[str, Any]:
    from charitylink.needs import sync

    user = _moderator()
    need = _load_for(user, code)
    return {
        "code": need.code,
        "status": need.status,
        "updated_at": need.updated_at,
        "claims": sync.with_claims([need])[0]["claims"],
    }


def _review(verb: str, summary: str) -> Any:
    return operation(
        f"{verb}Need", summary, "needs", errors=WRITE_ERRORS, idempotent=True
    )


@bp.post("/needs/<code>/submit")
@_review("submit", "提交需求审核")
@bp.response(200, NeedWorkSchema, description="成功")
def submit_need(code: str) -> Need:
    user = _moderator()
    need = _load_for(user, code)
    services.submit_need(need, user)
    return need


@bp.post("/needs/<code>/approve")
@_review("approve", "审核通过并发布（录入人和最后修改人都不能审核：four_eyes）")
@bp.response(200, NeedWorkSchema, description="成功")
def approve_need(code: str) -> Need:
    user = _moderator()
    need = _load_for(user, code)
    services.approve_need(need, user)
    return need


@bp.post("/needs/<code>/reject")
@_review("reject", "驳回需求（需填写原因）")
@accepts(ReasonSchema)
@bp.response(200, NeedWorkSchema, description="成功")
def reject_need(code: str) -> Need:
    user = _moderator()
    need = _load_for(user, code)
    services.reject_need(need, user, reason_body())
    return need


@bp.post("/needs/<code>/withdraw")
@_review("withdraw", "撤回已发布的需求（需填写原因）")
@accepts(ReasonSchema)
@bp.response(200, NeedWorkSchema, description="成功")
def withdraw_need(code: str) -> Need:
    user = _moderator()
    need = _load_for(user, code)
    services.withdraw_need(need, user, reason_body())
    return need


# ---- live cases: extend, edit, bulk review -----------------------------------


def _optional(base: type[Body], name: str, **replace: Any) -> type[Body]:
    """``base`` with no field required and no default filled in: the body that
    edits what ``base`` creates (a field left out keeps its value)."""
    import copy

    from marshmallow import missing

    declared = {}
    for key, field in base._declared_fields.items():
        field = replace.get(key) or copy.deepcopy(field)
        field.required = False
        field.load_default = missing
        declared[key] = field
    return cast(type[Body], base.from_dict(declared, name=name))


HouseholdPatchSchema = _optional(HouseholdInputSchema, "HouseholdPatchSchema")
NeedPatchSchema = _optional(
    NeedInputSchema,
    "NeedPatchSchema",
    household=nested(HouseholdPatchSchema, "家庭信息（只改给出的字段）"),
)


class NeedExtendSchema(Body):
    deadline = depends(
        day("新的截止日期", required=True),
        "today",
        "须晚于今天，且晚于原截止日期（已过期的需求除外），最多一年以后",
    )
    reason = text(500, "原因", filled=True, required=True)


class BulkReviewSchema(Body):
    action = choice(("submit", "approve", "reject"), "操作", required=True)
    codes = items(
        text(40, min_len=1),
        "需求编号",
        min_items=1,
        max_items=services.BULK_MAX,
        required=True,
        description=f"一次最多 {services.BULK_MAX} 条；每条按各自的规则处理",
    )
    reason = depends(text(500, "原因", nullable=True), "action", "驳回（reject）时必填")


class BulkResultSchema(Answer):
    results = mfields.Dict(
        keys=Text(),
        values=mfields.Raw(
            metadata={
                "oneOf": [
                    {"type": "string", "enum": ["ok"]},
                    {
                        "type": "object",
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                        },
                        "required": ["code", "message"],
                    },
                ]
            }
        ),
        required=True,
        metadata={
            "description": '每个编号的结果：成功为 "ok"；被拒绝为错误码和中文说明'
            "（four_eyes、invalid_transition、not_found、validation_failed ……）"
        },
    )


@bp.post("/needs/<code>/extend")
@_review(
    "extend",
    "延长需求截止日期（需填写原因；已过期的需求可借此重新开放一次）",
)
@accepts(NeedExtendSchema)
@bp.response(200, NeedWorkSchema, description="成功")
def extend_need(code: str) -> Need:
    user = _moderator()
    need = _load_for(user, code)
    data = body()
    services.extend_need(need, user, data.get("deadline"), data.get("reason"))
    return need


@bp.patch("/needs/<code>")
@operation(
    "updateNeed",
    "修改草稿或已驳回的需求（审核员；只改给出的字段，含家庭信息；已驳回的回到草稿）",
    "needs",
    errors=WRITE_ERRORS,
    idempotent=True,
)
@accepts(NeedPatchSchema)
@bp.response(200, NeedWorkSchema, description="成功")
def update_need(code: str) -> Need:
    user = _moderator()
    need = _load_for(user, code)
    changes = body()
    return services.patch_need(need, changes, user)


@bp.post("/needs/bulk")
@operation(
    "bulkReviewNeeds",
    "批量提交、审核通过或驳回需求（每条单独判断、单独生效，逐条返回结果）",
    "needs",
    errors=("401", "403", "413", "422"),
    idempotent=True,
)
@accepts(BulkReviewSchema)
@bp.response(200, BulkResultSchema, description="成功（逐条结果见 results）")
def bulk_review_needs() -> dict[str, Any]:
    user = _moderator()
    data = body()
    # A rejection without a reason is refused need by need (validation_failed
    # in its result), like every other rule: the body itself is well formed.
    results = services.bulk_review(
        list(data["codes"]),
        data["action"],
        user,
        data.get("reason"),
        load=lambda c: _load_for(user, c),
    )
    return {"results": results}
