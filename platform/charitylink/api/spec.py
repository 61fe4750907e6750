"""The OpenAPI 3.0 description of ``/api/v1`` (served at ``/api/v1/openapi.json``).

Written by hand from the endpoint modules; ``tests/api/test_openapi.py`` checks
that every route in ``app.url_map`` under ``/api/v1`` is described here and vice
versa, and schemathesis checks the answers against these schemas.
"""

from __future__ import annotations

from typing import Any

from charitylink.accounts.services import EMAIL_PATTERN
from charitylink.claims.models import ClaimStatus, DeliveryMethod
from charitylink.core.money import MAX_AMOUNT_FEN
from charitylink.funds.models import FundKind
from charitylink.needs.models import (
    AssistanceType,
    Category,
    NeedStatus,
    NeedType,
    Urgency,
)
from charitylink.orgs.models import OrgStatus, OrgType
from charitylink.projects.models import ProjectStatus

J = "application/json"


def _enum(cls: Any) -> list[str]:
    return [m.value for m in cls]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _s(kind: str, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind, **extra}
    if nullable:
        schema["nullable"] = True
    return schema


STR, INT, BOOL = _s("string"), _s("integer"), _s("boolean")
NSTR, NINT = _s("string", True), _s("integer", True)
FEN = _s("integer", description="金额，单位分（整数）")
NFEN = _s("integer", True, description="金额，单位分；不足 5 户时为 null")
DATE = _s("string", format="date")
NDATE = _s("string", True, format="date")
NDATETIME = _s("string", True, format="date-time")


def obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def page_of(item: str, total: bool = True) -> dict[str, Any]:
    props: dict[str, Any] = {
        "items": {"type": "array", "items": ref(item)},
        "page": INT,
        "per_page": INT,
    }
    if total:
        props["total"] = INT
    return obj(props, ["items", "page", "per_page"])


# What a request body may hold. The API checks every body against these
# schemas before anything else (api/validation.py), so what this document says
# is what the code enforces; the services then apply the rules no schema can
# state, each marked ``x-depends-on`` (a fund of the caller's org, a date not in
# the past, the privacy scan of public text).
ID_MAX = 2**31 - 1
DAY_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def text(
    max_len: int, *, filled: bool = False, nullable: bool = False, **extra: Any
) -> dict[str, Any]:
    """A string of at most ``max_len`` characters; ``filled``: not blank."""
    schema: dict[str, Any] = {"type": "string", "maxLength": max_len, **extra}
    if filled:
        schema.setdefault("minLength", 1)
        schema.setdefault("pattern", r"\S")
    if nullable:
        schema["nullable"] = True
    return schema


def money(minimum: int = 1, nullable: bool = False) -> dict[str, Any]:
    return _s(
        "integer",
        nullable,
        minimum=minimum,
        maximum=MAX_AMOUNT_FEN,
        description="金额，单位分（整数）",
    )


def day(nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return _s(
        "string",
        nullable,
        format="date",
        pattern=DAY_PATTERN,
        description="YYYY-MM-DD，2000-01-01 至 2100-12-31",
        **extra,
    )


def depends(schema: dict[str, Any], on: str, text: str) -> dict[str, Any]:
    """A rule beyond the schema: the service answers 422 naming the field."""
    described = "；".join(filter(None, [text, schema.get("description")]))
    return {**schema, "x-depends-on": on, "description": described}


def ref_id(target: str, text: str, nullable: bool = False) -> dict[str, Any]:
    return {
        **_s("integer", nullable, minimum=1, maximum=ID_MAX, description=text),
        "x-refers-to": target,
    }


PRIVACY_SCAN = "公开显示；不得含个人信息（姓名、身份证号、电话、地址），否则 422"
NEED_TYPE = _s("string", enum=_enum(NeedType))
REGION_6 = r"^[0-9]{6}$"
EMAIL = text(
    254,
    format="email",
    pattern=EMAIL_PATTERN,
    minLength=3,
)
PHONE = text(
    32,
    nullable=True,
    format="cn-phone",
    pattern=r"^([0-9+() -]{7,32})?$",
    description="手机号码（11 位）或固定电话（如 010-12345678）；空为不填",
)

_HOUSEHOLD_IN = obj(
    {
        "name": text(40, filled=True),
        "id_number": _s(
            "string",
            format="cn-id-number",
            pattern=r"^[0-9]{17}[0-9Xx]$",
            description="18 位公民身份号码（地区码、出生日期和校验码须正确）",
        ),
        "phone": depends(
            PHONE,
            "consent_share_contact",
            "手机或固定电话；家庭同意提供联系方式时必填",
        ),
        "address": text(200, nullable=True),
        "region_code": depends(
            _s("string", True, pattern=r"^([0-9]{6}([0-9]{3}){0,2})?$"),
            "region_code",
            "乡镇（街道）代码，9 或 12 位，须以需求的县级代码开头",
        ),
        "notes": text(2000, nullable=True),
        "consent_share_contact": _s("boolean", default=False),
    },
    ["name", "id_number"],
)


# Any row is taken: each is checked on its own and reported in the result (a
# bad row is refused there and changes nothing; the others are imported).
IMPORT_ROWS = {
    "type": "array",
    "items": {"description": "一行需求，字段同 NeedInput，另需 external_id"},
    "minItems": 1,
    "maxItems": 5000,
}


def _reason(max_len: int, required: bool) -> dict[str, Any]:
    reason = text(max_len, filled=required, nullable=not required)
    return obj({"reason": reason}, ["reason"] if required else None)


SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": _s(
                        "string",
                        description="bad_request, unauthorized, forbidden, "
                        "not_found, validation_failed, over_claim, "
                        "insufficient_funds, fund_purpose, not_claimable, "
                        "four_eyes, invalid_transition, conflict, "
                        "idempotency_key_reused, idempotency_in_progress, "
                        "too_large, rate_limited, method_not_allowed ...",
                    ),
                    "message": _s("string", description="给人看的中文说明"),
                    "fields": _s(
                        "object",
                        additionalProperties=STR,
                        description="出错的字段 → 说明（422 时列出每个字段）",
                    ),
                },
                ["code", "message", "fields"],
            )
        },
        ["error"],
    ),
    "TokenRequest": obj(
        {
            "email": text(254, filled=True),
            "password": text(1024, minLength=1),
            "name": text(64, nullable=True, description="令牌的名称，便于日后识别"),
        },
        ["email", "password"],
    ),
    "Token": obj(
        {"token": STR, "expires_at": _s("string", format="date-time")},
        ["token", "expires_at"],
    ),
    "Org": obj(
        {
            "id": INT,
            "name": STR,
            "uscc": STR,
            "org_type": _s("string", enum=_enum(OrgType)),
            "region_code": STR,
            "description": NSTR,
            "status": _s("string", enum=_enum(OrgStatus)),
            "contact_name": NSTR,
            "contact_phone": NSTR,
            "contact_email": NSTR,
        },
        ["id", "name", "uscc", "org_type", "region_code", "status"],
    ),
    "OrgRegistrationAccepted": obj(
        {
            "name": STR,
            "uscc": STR,
            "org_type": _s("string", enum=_enum(OrgType)),
            "region_code": STR,
            "description": NSTR,
            "contact_name": NSTR,
            "contact_phone": NSTR,
            "contact_email": NSTR,
            "status": _s("string", enum=["pending"]),
            "message": STR,
        },
        ["name", "uscc", "org_type", "region_code", "status", "message"],
    ),
    "OrgRegistration": obj(
        {
            "name": depends(
                text(100, filled=True),
                "organizations",
                "机构名称，不能与已注册机构同名（409）",
            ),
            "uscc": _s(
                "string",
                format="uscc",
                pattern=r"^[0-9A-Za-z]{18}$",
                description="统一社会信用代码，18 位（校验位须正确，不含 I、O、S、V、Z）",
            ),
            "org_type": _s("string", enum=_enum(OrgType)),
            "region_code": _s(
                "string",
                format="region",
                pattern=REGION_6,
                description="所在地：省、市或区县的行政区划代码（6 位，须存在）",
            ),
            "description": depends(
                text(2000, nullable=True), "privacy scan", PRIVACY_SCAN
            ),
            "contact_name": text(64, nullable=True),
            "contact_phone": PHONE,
            # No ``format``: an empty string (not given) is accepted here.
            "contact_email": text(254, nullable=True, pattern="^$|" + EMAIL_PATTERN),
            "admin": obj(
                {
                    "email": EMAIL,
                    "password": depends(
                        text(128, minLength=10, format="password"),
                        "strength",
                        "10–128 个字符，且不容易猜（常用密码、键盘顺序、含邮箱或姓名的密码会被拒绝）",
                    ),
                    "name": text(64, filled=True),
                },
                ["email", "password", "name"],
            ),
        },
        ["name", "uscc", "org_type", "region_code", "admin"],
    ),
    "Reason": _reason(500, required=True),
    "ReasonOptional": _reason(500, required=False),
    "ProjectReason": _reason(1000, required=True),
    "ProjectReasonOptional": _reason(1000, required=False),
    "Fund": obj(
        {
            "id": INT,
            "org_id": INT,
            "name": STR,
            "kind": _s("string", enum=_enum(FundKind)),
            "donor_name": NSTR,
            "purpose": _s(
                "object",
                True,
                properties={
                    "need_types": {"type": "array", "items": STR},
                    "region_prefix": NSTR,
                },
            ),
            "description": STR,
            "donations_total": FEN,
            "disbursed": FEN,
            "reserved": FEN,
            "balance": FEN,
            "available": FEN,
        },
        ["id", "org_id", "name", "kind", "balance", "available"],
    ),
    "FundCreate": obj(
        {
            "name": depends(text(100, filled=True), "privacy scan", PRIVACY_SCAN),
            "kind": _s("string", enum=_enum(FundKind)),
            "donor_name": depends(
                text(100, nullable=True),
                "kind",
                "冠名方；冠名基金（named）必填。" + PRIVACY_SCAN,
            ),
            "purpose": _s(
                "object",
                True,
                properties={
                    "need_types": depends(
                        {"type": "array", "items": NEED_TYPE, "nullable": True},
                        "kind",
                        "可资助的需求类型；专项基金（special）至少一种",
                    ),
                    "region_prefix": _s(
                        "string",
                        True,
                        pattern=r"^([0-9]{2}){0,3}$",
                        description="地区范围：行政区划代码前缀（2、4 或 6 位），空为不限",
                    ),
                },
            ),
            "description": depends(
                text(2000, nullable=True), "privacy scan", PRIVACY_SCAN
            ),
        },
        ["name", "kind"],
    ),
    "DonationCreate": obj(
        {
            "amount": money(),
            "donor_name": depends(
                text(100, nullable=True),
                "privacy scan",
                "捐赠人（公开显示），匿名捐赠传 null。" + PRIVACY_SCAN,
            ),
            "reference": text(100, nullable=True, description="凭证号"),
        },
        ["amount"],
    ),
    "Donation": obj(
        {
            "id": INT,
            "fund_id": INT,
            "amount": FEN,
            "donor_name": NSTR,
            "reference": NSTR,
            "created_at": STR,
            "fund": ref("Fund"),
        },
        ["id", "fund_id", "amount"],
    ),
    "Project": obj(
        {
            "id": INT,
            "org_id": INT,
            "fund_id": INT,
            "filing_number": NSTR,
            "title": STR,
            "summary": NSTR,
            "body": NSTR,
            "need_types": {"type": "array", "items": STR},
            "region_codes": {"type": "array", "items": STR},
            "target_amount": NINT,
            "start_on": NDATE,
            "end_on": NDATE,
            "status": _s("string", enum=_enum(ProjectStatus)),
            "status_reason": NSTR,
            "published_at": NSTR,
            "progress_overdue": BOOL,
            "claimed_amount": FEN,
            "delivered_amount": FEN,
            "households_helped": INT,
        },
        ["id", "org_id", "fund_id", "title", "status"],
    ),
    "ProjectInput": obj(
        {
            "fund_id": ref_id("Fund", "支付项目资金的本机构基金"),
            "filing_number": _s(
                "string",
                True,
                pattern=r"^[0-9A-Za-z０-９Ａ-Ｚａ-ｚ]{0,64}$",
                description="慈善中国备案编号（字母和数字，全角字符按半角保存）",
            ),
            "title": depends(text(120, filled=True), "privacy scan", PRIVACY_SCAN),
            "summary": depends(text(500, nullable=True), "privacy scan", PRIVACY_SCAN),
            "body": depends(
                text(20000, nullable=True),
                "privacy scan",
                "Markdown，保存时清洗。" + PRIVACY_SCAN,
            ),
            "need_types": {"type": "array", "items": NEED_TYPE, "minItems": 1},
            "region_codes": {
                "type": "array",
                "items": _s(
                    "string",
                    format="region",
                    pattern=r"^[0-9]{6}([0-9]{3}){0,2}$",
                    description="行政区划代码（须存在）",
                ),
                "minItems": 1,
                "maxItems": 200,
            },
            "target_amount": money(),
            "start_on": day(True),
            "end_on": depends(day(True), "start_on", "不能早于 start_on"),
        },
    ),
    "ProjectPage": obj(
        {
            "items": {"type": "array", "items": ref("Project")},
            "total": INT,
            "page": INT,
            "per_page": INT,
            "pages": INT,
            "facets": ref("SearchFacets"),
        },
        ["items", "total", "page", "per_page"],
    ),
    "Facet": obj(
        {
            "value": _s("string", description="筛选值，可直接作为同名查询参数"),
            "label": _s("string", description="中文名称"),
            "count": _s("integer", description="符合关键词和其他筛选条件的条数"),
        },
        ["value", "label", "count"],
    ),
    "SearchFacets": {
        **obj(
            {
                "region": {"type": "array", "items": ref("Facet")},
                "category": {"type": "array", "items": ref("Facet")},
                "need_type": {"type": "array", "items": ref("Facet")},
            },
            ["region", "need_type"],
        ),
        "description": "仅在带 q（关键词）时返回：各筛选值的结果条数，按条数从多到少。"
        "region 比 region 参数细一级（不带 region 时为省，2 位；再到市、区县）；"
        "category 只用于需求。",
    },
    "GovAssistance": obj(
        {
            "type": _s("string", enum=_enum(AssistanceType)),
            "monthly_amount": money(minimum=0),
        },
        ["type", "monthly_amount"],
    ),
    "NeedInput": obj(
        {
            "external_id": depends(
                text(64, nullable=True),
                "privacy scan",
                "来源系统的编号；导入时必填。不得是身份证号等个人信息",
            ),
            "title": depends(text(120, filled=True), "privacy scan", PRIVACY_SCAN),
            "description": depends(
                text(5000, filled=True), "privacy scan", PRIVACY_SCAN
            ),
            "category": _s("string", enum=_enum(Category)),
            "need_type": NEED_TYPE,
            "region_code": _s(
                "string",
                format="region-county",
                pattern=REGION_6,
                description="县级行政区划代码（6 位，须存在）",
            ),
            "household_size": _s("integer", minimum=1, maximum=30),
            "gov_assistance": {
                "type": "array",
                "items": ref("GovAssistance"),
                "maxItems": 10,
                "nullable": True,
            },
            "amount": money(),
            "in_kind": _s("boolean", default=False),
            "items": depends(
                {
                    "type": "array",
                    "nullable": True,
                    "maxItems": 30,
                    "items": obj(
                        {
                            "name": text(60, filled=True),
                            "quantity": _s("integer", minimum=1, maximum=100000),
                        },
                        ["name"],
                    ),
                },
                "in_kind",
                "物品清单；in_kind 为 true 时必填（1–30 项）",
            ),
            "urgency": _s("string", True, enum=[*_enum(Urgency), None]),
            "deadline": depends(day(True), "today", "截止日期，不能早于今天"),
            "household": _HOUSEHOLD_IN,
        },
        [
            "title",
            "description",
            "category",
            "need_type",
            "region_code",
            "household_size",
            "amount",
            "household",
        ],
    ),
    "Need": obj(
        {
            "code": _s(
                "string",
                pattern=r"^XQ-\d{2}-\d{6,}$",
                description="需求编号：XQ-省级代码(2位)-序号，如 XQ-22-000123",
            ),
            "title": STR,
            "description": STR,
            "category": _s("string", enum=_enum(Category)),
            "need_type": _s("string", enum=_enum(NeedType)),
            "region_code": STR,
            "region_name": STR,
            "age_band": STR,
            "household_size": INT,
            "gov_assistance": {"type": "array", "items": ref("GovAssistance")},
            "amount": FEN,
            "in_kind": BOOL,
            "items": _s("array", True, items=obj({"name": STR, "quantity": INT})),
            "claimed_amount": FEN,
            "delivered_amount": FEN,
            "urgency": _s("string", enum=_enum(Urgency)),
            "deadline": NDATE,
            "status": _s("string", enum=_enum(NeedStatus)),
            "published_at": NDATETIME,
        },
        ["code", "title", "category", "need_type", "region_code", "amount", "status"],
    ),
    "NeedWork": {
        "allOf": [
            ref("Need"),
            obj(
                {
                    "external_id": NSTR,
                    "legacy_code": _s(
                        "string",
                        True,
                        description="首版按区县编的旧编号（仅审核员可见，仍可用于审核员接口）",
                    ),
                    "public_region_code": STR,
                    "status_reason": NSTR,
                    "household": obj(
                        {k: STR for k in ("name", "id_number", "phone", "address")},
                    ),
                    "duplicates": obj(
                        {
                            "open_needs": {"type": "array", "items": STR},
                            "received_last_12_months": FEN,
                            "org_count": INT,
                        }
                    ),
                }
            ),
        ],
        "description": "审核员看到的需求：真实区县、状态原因；新建时附带打码的家庭信息和重复提示",
    },
    "NeedPage": obj(
        {
            "items": {"type": "array", "items": ref("Need")},
            "total": INT,
            "page": INT,
            "per_page": INT,
            "warnings": {"type": "array", "items": STR},
            "facets": ref("SearchFacets"),
        },
        ["items", "total", "page", "per_page"],
    ),
    "NeedPrivate": obj(
        {
            "code": STR,
            "household": obj(
                {
                    "name": STR,
                    "id_number": STR,
                    "phone": STR,
                    "address": STR,
                    "region_code": STR,
                    "notes": STR,
                    "consent_share_contact": BOOL,
                }
            ),
        },
        ["code", "household"],
    ),
    "ImportRequest": {
        "description": "需求数组，或 {rows: [...]}；每行的字段同 NeedInput（另需 external_id），"
        "逐行校验并在结果中报告，坏行不影响其他行",
        "oneOf": [
            IMPORT_ROWS,
            obj({"rows": IMPORT_ROWS}, ["rows"]),
        ],
    },
    "ImportRow": obj(
        {
            "row": _s("integer", description="数组中的序号，从 1 开始"),
            "external_id": NSTR,
            "status": _s("string", enum=["created", "updated", "unchanged", "refused"]),
            "code": _s("string", True, description="需求编号（XQ-…）"),
            "error_code": _s(
                "string",
                True,
                description="validation_failed, duplicate_external_id, forbidden, "
                "external_id_taken（外部编号已被其他地区的需求使用）, "
                "claimed（已被认领，不会修改）, invalid_transition ...",
            ),
            "message": STR,
            "errors": _s("object", additionalProperties=STR),
        },
        ["row", "external_id", "status", "code", "errors"],
    ),
    "ImportResult": obj(
        {
            "dry_run": BOOL,
            "summary": obj(
                {
                    k: INT
                    for k in ("created", "updated", "unchanged", "refused", "total")
                },
                ["created", "updated", "unchanged", "refused", "total"],
            ),
            "rows": {"type": "array", "items": ref("ImportRow")},
        },
        ["dry_run", "summary", "rows"],
    ),
    "ClaimCreate": obj(
        {
            "fund_id": ref_id("Fund", "出资的本机构基金"),
            "amount": money(),
            "project_id": ref_id("Project", "所属的本机构项目（可选）", nullable=True),
        },
        ["fund_id", "amount"],
    ),
    "Claim": obj(
        {
            "id": INT,
            "need_code": STR,
            "org_id": INT,
            "fund_id": INT,
            "project_id": NINT,
            "amount": FEN,
            "status": _s("string", enum=_enum(ClaimStatus)),
            "due_on": DATE,
            "delivered_amount": NINT,
            "delivered_on": NDATE,
            "method": _s("string", True, enum=[*_enum(DeliveryMethod), None]),
            "note": NSTR,
        },
        ["id", "need_code", "org_id", "fund_id", "amount", "status", "due_on"],
    ),
    "ClaimPage": page_of("Claim", total=False),
    "Delivery": obj(
        {
            "delivered_amount": depends(money(), "claim", "不能超过认领金额"),
            "delivered_on": depends(
                day(), "today", "交付日期：不晚于今天，不早于认领日期的前一天"
            ),
            "method": _s("string", enum=_enum(DeliveryMethod)),
            "note": text(2000, nullable=True),
        },
        ["delivered_amount", "delivered_on", "method"],
    ),
    "OrgPage": page_of("Org"),
    "StatsCell": obj(
        {
            "needs_published": NINT,
            "households": NINT,
            "amount_requested": NFEN,
            "amount_claimed": NFEN,
            "households_reached": NINT,
            "amount_delivered": NFEN,
            "amount_confirmed": NFEN,
            "deliveries": NINT,
            "region_code": STR,
            "region_name": STR,
            "level": STR,
            "need_type": STR,
            "month": STR,
            "suppressed": ref("Suppressed"),
        }
    ),
    "Suppressed": _s(
        "object",
        additionalProperties=_s("string", enum=["lt5", "complementary"]),
        description="被隐去的数字组 → 原因：lt5（不足 5 户）或 complementary"
        "（可由合计推算）",
    ),
    "Stats": obj(
        {
            "needs_published": NINT,
            "needs_fully_claimed": NINT,
            "households_reached": NINT,
            "amount_requested": NFEN,
            "amount_claimed": NFEN,
            "amount_delivered": NFEN,
            "amount_confirmed": NFEN,
            "orgs_verified": INT,
            "funds": INT,
            "donations_total": FEN,
            "suppressed": ref("Suppressed"),
            "by_region": {"type": "array", "items": ref("StatsCell")},
            "by_need_type": {"type": "array", "items": ref("StatsCell")},
            "by_month": {"type": "array", "items": ref("StatsCell")},
            "suppression": obj({"threshold_households": INT, "note": STR}),
        },
        ["needs_published", "by_region", "by_need_type", "by_month"],
    ),
}

# The Chinese name of each input field: shown in the document, and the name the
# validator's messages use ("请填写标题。", "金额（分）应为整数。").
_LABELS: dict[str, dict[str, str]] = {
    "TokenRequest": {"email": "邮箱", "password": "密码", "name": "令牌名称"},
    "OrgRegistration": {
        "name": "机构名称",
        "uscc": "统一社会信用代码",
        "org_type": "机构类型",
        "region_code": "所在地区",
        "description": "机构简介",
        "contact_name": "联系人",
        "contact_phone": "联系电话",
        "contact_email": "联系邮箱",
        "admin": "管理员",
        "admin.email": "管理员邮箱",
        "admin.password": "管理员密码",
        "admin.name": "管理员姓名",
    },
    "FundCreate": {
        "name": "基金名称",
        "kind": "基金类型",
        "donor_name": "冠名方",
        "purpose": "资助范围",
        "purpose.need_types": "可资助的需求类型",
        "purpose.region_prefix": "地区范围",
        "description": "基金说明",
    },
    "DonationCreate": {
        "amount": "捐赠金额（分）",
        "donor_name": "捐赠人",
        "reference": "凭证号",
    },
    "ProjectInput": {
        "fund_id": "基金编号",
        "filing_number": "慈善中国备案编号",
        "title": "项目名称",
        "summary": "项目简介",
        "body": "项目详情",
        "need_types": "需求类型",
        "region_codes": "覆盖区划",
        "target_amount": "目标金额（分）",
        "start_on": "开始日期",
        "end_on": "结束日期",
    },
    "GovAssistance": {"type": "救助类型", "monthly_amount": "每月金额（分）"},
    "NeedInput": {
        "external_id": "外部编号",
        "title": "标题",
        "description": "描述",
        "category": "家庭类别",
        "need_type": "需求类型",
        "region_code": "县级区划代码",
        "household_size": "家庭人口",
        "gov_assistance": "已获政府救助",
        "amount": "金额（分）",
        "in_kind": "是否实物",
        "items": "物品清单",
        "items.name": "物品名称",
        "items.quantity": "数量",
        "urgency": "紧急程度",
        "deadline": "截止日期",
        "household": "家庭信息",
        "household.name": "姓名",
        "household.id_number": "身份证号码",
        "household.phone": "联系电话",
        "household.address": "地址",
        "household.region_code": "乡镇（街道）代码",
        "household.notes": "备注",
        "household.consent_share_contact": "同意提供联系方式",
    },
    "ClaimCreate": {
        "fund_id": "基金编号",
        "amount": "认领金额（分）",
        "project_id": "项目编号",
    },
    "Delivery": {
        "delivered_amount": "交付金额（分）",
        "delivered_on": "交付日期",
        "method": "交付方式",
        "note": "说明",
    },
    **{
        name: {"reason": "原因"}
        for name in (
            "Reason",
            "ReasonOptional",
            "ProjectReason",
            "ProjectReasonOptional",
        )
    },
}


def _labelled(schema: dict[str, Any], path: list[str], label: str) -> dict[str, Any]:
    """A copy of ``schema`` with ``title`` set on the property at ``path`` (the
    property schemas are shared between bodies, so never changed in place)."""
    if not path:
        return {**schema, "title": label}
    if schema.get("type") == "array":
        return {**schema, "items": _labelled(schema["items"], path, label)}
    props = dict(schema["properties"])
    props[path[0]] = _labelled(props[path[0]], path[1:], label)
    return {**schema, "properties": props}


for _name, _fields in _LABELS.items():
    for _path, _label in _fields.items():
        SCHEMAS[_name] = _labelled(SCHEMAS[_name], _path.split("."), _label)

# Creating a project needs what editing one may leave out.
SCHEMAS["ProjectCreate"] = {
    **SCHEMAS["ProjectInput"],
    "required": ["fund_id", "title", "need_types", "region_codes", "target_amount"],
}

_ERR_TEXT = {
    "400": "请求格式不正确（不是 JSON、JSON 不是对象、Idempotency-Key 格式不对，"
    "或参数中含 NUL 字符）",
    "401": "缺少令牌，或令牌无效、过期、已撤销（WWW-Authenticate: Bearer）",
    "403": "无权执行（角色不符，或对象不在您负责的区划/机构内）",
    "404": "对象不存在（或对您不可见）",
    "409": "会违反业务规则：over_claim, insufficient_funds, fund_purpose, "
    "not_claimable, four_eyes, invalid_transition, conflict；"
    "或同一 Idempotency-Key 的请求仍在处理（idempotency_in_progress）",
    "413": "请求体过大",
    "422": "字段校验失败（fields 逐项说明）；或 Idempotency-Key 已用于另一请求体"
    "（idempotency_key_reused）",
    "429": "请求过于频繁（rate_limited），请稍后再试",
}


def _errors(*codes: str) -> dict[str, Any]:
    return {
        code: {
            "description": _ERR_TEXT[code],
            "content": {J: {"schema": ref("Error")}},
        }
        for code in codes
    }


def _ok(status: str, schema: str, text: str) -> dict[str, Any]:
    return {status: {"description": text, "content": {J: {"schema": ref(schema)}}}}


def _path_param(name: str, kind: str = "integer") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
    if kind == "code":
        schema = {"type": "string", "pattern": r"^XQ-[0-9]{2}([0-9]{4})?-[0-9]{6,}$"}
    param = {"name": name, "in": "path", "required": True, "schema": schema}
    if kind == "code":
        param["description"] = (
            "需求编号，如 XQ-22-000123；审核员的接口也接受首版的旧编号（XQ-区县代码-序号），"
            "公开接口不接受"
        )
    return param


def _params(declared: list[Any]) -> list[dict[str, Any]]:
    return [param.openapi() for param in declared]


IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "可选。同一调用者用同一键重复提交相同请求体时，返回第一次的响应且不再改变任何数据；"
    "请求体不同返回 422，第一次仍在处理返回 409。建议使用 UUID。",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": r"^[!-~]{1,255}$",
    },
}
AUTH: list[dict[str, list[str]]] = [{"bearer": []}]
PUBLIC: list[dict[str, list[str]]] = [{}, {"bearer": []}]


def _op(
    summary: str,
    tag: str,
    responses: dict[str, Any],
    *,
    body: str | None = None,
    body_required: bool = True,
    params: list[dict[str, Any]] | None = None,
    security: list[dict[str, list[str]]] | None = None,
    post: bool = False,
    description: str = "",
    op_id: str,
) -> dict[str, Any]:
    # Any request may carry a NUL byte in its path or query, which every endpoint
    # refuses with 400 before anything runs (core/security.py).
    responses = {**_errors("400"), **responses}
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "responses": dict(sorted(responses.items())),
        "security": AUTH if security is None else security,
    }
    if description:
        op["description"] = description
    parameters = list(params or [])
    if post:
        parameters.append(IDEMPOTENCY)
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = {
            "required": body_required,
            "content": {J: {"schema": ref(body)}},
        }
    return op


def _action(
    op_id: str,
    summary: str,
    tag: str,
    schema: str,
    param: dict[str, Any],
    body: str | None = None,
    ok: str = "200",
) -> dict[str, Any]:
    """A POST on one object; ``body`` names its schema. An optional reason
    (``…Optional``) may be left out with its body."""
    return _op(
        summary,
        tag,
        {
            **_ok(ok, schema, "成功"),
            **_errors("400", "401", "403", "404", "409", "413", "422"),
        },
        body=body,
        body_required=bool(body and not body.endswith("Optional")),
        params=[param],
        post=True,
        op_id=op_id,
    )


def build_spec(server_url: str = "/") -> dict[str, Any]:
    # The endpoint modules declare their query parameters; imported here, not at
    # the top, because they import the API package that imports this module.
    from charitylink.api import claims as api_claims
    from charitylink.api import imports as api_imports
    from charitylink.api import needs as api_needs
    from charitylink.api import orgs as api_orgs
    from charitylink.api import projects as api_projects

    org_id = _path_param("org_id")
    fund_id = _path_param("fund_id")
    project_id = _path_param("project_id")
    claim_id = _path_param("claim_id")
    code = _path_param("code", "code")
    read_errors = _errors("401", "404")
    write = ("400", "401", "403", "404", "409", "413", "422")
    paths: dict[str, Any] = {
        "/api/v1/tokens": {
            "post": _op(
                "登录，获取访问令牌",
                "tokens",
                {
                    **_ok("201", "Token", "令牌只返回这一次；服务器只保存其哈希"),
                    **_errors("400", "401", "413", "422", "429"),
                },
                body="TokenRequest",
                security=[{}],
                description="按账号和来源地址限流（429）。此接口不使用 Idempotency-Key "
                "（响应含明文令牌，不会被保存）。",
                op_id="createToken",
            )
        },
        "/api/v1/orgs": {
            "post": _op(
                "注册慈善组织及其第一位管理员",
                "orgs",
                {
                    **_ok(
                        "201",
                        "OrgRegistrationAccepted",
                        "已受理，状态 pending（新邮箱与已注册邮箱的答复相同）",
                    ),
                    **_errors("400", "401", "409", "413", "422", "429"),
                },
                body="OrgRegistration",
                security=PUBLIC,
                post=True,
                op_id="registerOrg",
            ),
            "get": _op(
                "已认证的慈善组织列表",
                "orgs",
                {**_ok("200", "OrgPage", "成功"), **_errors("401", "422")},
                params=_params(api_orgs.LIST_PARAMS),
                security=PUBLIC,
                op_id="listOrgs",
            ),
        },
        "/api/v1/orgs/{org_id}": {
            "get": _op(
                "机构详情（公众只能看到已认证机构）",
                "orgs",
                {**_ok("200", "Org", "成功"), **read_errors},
                params=[org_id],
                security=PUBLIC,
                op_id="getOrg",
            )
        },
    }
    for verb, text, with_reason in (
        ("verify", "审核通过机构（审核员）", False),
        ("reject", "驳回机构注册（审核员，需填写原因）", True),
        ("suspend", "暂停机构（审核员，需填写原因）", True),
        ("reinstate", "恢复被暂停的机构（审核员）", False),
    ):
        op = _action(
            f"{verb}Org", text, "orgs", "Org", org_id, "Reason" if with_reason else None
        )
        paths[f"/api/v1/orgs/{{org_id}}/{verb}"] = {"post": op}
    paths["/api/v1/funds"] = {
        "post": _op(
            "创建冠名基金或专项基金（机构管理员）",
            "funds",
            {**_ok("201", "Fund", "成功"), **_errors(*write)},
            body="FundCreate",
            post=True,
            op_id="createFund",
        )
    }
    paths["/api/v1/funds/{fund_id}"] = {
        "get": _op(
            "基金详情及收支数字",
            "funds",
            {**_ok("200", "Fund", "成功"), **read_errors},
            params=[fund_id],
            security=PUBLIC,
            op_id="getFund",
        )
    }
    paths["/api/v1/funds/{fund_id}/donations"] = {
        "post": _action(
            "createDonation",
            "登记一笔捐赠（机构管理员）",
            "funds",
            "Donation",
            fund_id,
            body="DonationCreate",
            ok="201",
        )
    }
    paths["/api/v1/projects"] = {
        "post": _op(
            "创建帮扶项目草稿（机构工作人员）",
            "projects",
            {**_ok("201", "Project", "成功"), **_errors(*write)},
            body="ProjectCreate",
            post=True,
            op_id="createProject",
        ),
        "get": _op(
            "已发布的帮扶项目",
            "projects",
            {**_ok("200", "ProjectPage", "成功"), **_errors("401", "422")},
            params=_params(api_projects.LIST_PARAMS),
            security=PUBLIC,
            op_id="listProjects",
        ),
    }
    paths["/api/v1/projects/{project_id}"] = {
        "get": _op(
            "项目详情及进展数字",
            "projects",
            {**_ok("200", "Project", "成功"), **read_errors},
            params=[project_id],
            security=PUBLIC,
            op_id="getProject",
        ),
        "post": _action(
            "updateProject",
            "修改草稿（或被驳回的）项目",
            "projects",
            "Project",
            project_id,
            body="ProjectInput",
        ),
    }
    for verb, text, reason in (
        ("submit", "提交项目审核（机构）", None),
        ("approve", "审核通过并发布项目（审核员）", None),
        ("reject", "驳回项目（审核员，需填写原因）", "ProjectReason"),
        ("close", "结束项目（机构，可说明原因）", "ProjectReasonOptional"),
    ):
        paths[f"/api/v1/projects/{{project_id}}/{verb}"] = {
            "post": _action(
                f"{verb}Project", text, "projects", "Project", project_id, reason
            )
        }
    paths["/api/v1/needs"] = {
        "post": _op(
            "录入一条需求（草稿，审核员）",
            "needs",
            {**_ok("201", "NeedWork", "成功"), **_errors(*write)},
            body="NeedInput",
            post=True,
            op_id="createNeed",
        ),
        "get": _op(
            "需求库：已公开的需求（只有匿名信息）",
            "needs",
            {
                **_ok("200", "NeedPage", "成功；检索引擎不可用时 warnings 说明"),
                **_errors("401", "422"),
            },
            params=_params(api_needs.LIST_PARAMS),
            security=PUBLIC,
            op_id="listNeeds",
        ),
    }
    paths["/api/v1/needs/import"] = {
        "post": _op(
            "批量导入需求（按 external_id 新建/更新/不变，逐行报告）",
            "needs",
            {
                **_ok(
                    "200",
                    "ImportResult",
                    "逐行结果；被拒绝的行不改变任何数据，其余行照常导入",
                ),
                **_errors("400", "401", "403", "409", "413", "422"),
            },
            body="ImportRequest",
            params=_params(api_imports.PARAMS),
            post=True,
            description="最多 5000 行（超过返回 422）。已被认领的需求不会被修改（该行 "
            "refused，error_code=claimed）；只有草稿或已驳回的需求可被更新。"
            "同一文件中重复的 external_id，后出现的行被拒绝。只能导入本人负责区划内的需求。",
            op_id="importNeeds",
        )
    }
    paths["/api/v1/needs/{code}"] = {
        "get": _op(
            "需求详情（只有匿名信息）",
            "needs",
            {**_ok("200", "Need", "成功"), **read_errors},
            params=[code],
            security=PUBLIC,
            op_id="getNeed",
        )
    }
    paths["/api/v1/needs/{code}/private"] = {
        "get": _op(
            "需求的隐私信息（本区划审核员；每次查看都记入审计）",
            "needs",
            {**_ok("200", "NeedPrivate", "成功"), **_errors("401", "403", "404")},
            params=[code],
            op_id="getNeedPrivate",
        )
    }
    for verb, text, reason in (
        ("submit", "提交需求审核", None),
        (
            "approve",
            "审核通过并发布（录入人和最后修改人都不能审核：four_eyes）",
            None,
        ),
        ("reject", "驳回需求（需填写原因）", "Reason"),
        ("withdraw", "撤回已发布的需求（需填写原因）", "Reason"),
    ):
        paths[f"/api/v1/needs/{{code}}/{verb}"] = {
            "post": _action(f"{verb}Need", text, "needs", "NeedWork", code, reason)
        }
    paths["/api/v1/needs/{code}/claims"] = {
        "post": _action(
            "createClaim",
            "认领（全额）或认捐（部分）一条需求（机构工作人员）",
            "claims",
            "Claim",
            code,
            body="ClaimCreate",
            ok="201",
        )
    }
    paths["/api/v1/claims"] = {
        "get": _op(
            "本机构的认领（最新在前）",
            "claims",
            {**_ok("200", "ClaimPage", "成功"), **_errors("401", "403", "422")},
            params=_params(api_claims.LIST_PARAMS),
            op_id="listClaims",
        )
    }
    paths["/api/v1/claims/{claim_id}"] = {
        "get": _op(
            "认领详情",
            "claims",
            {**_ok("200", "Claim", "成功"), **read_errors},
            params=[claim_id],
            op_id="getClaim",
        )
    }
    paths["/api/v1/claims/{claim_id}/deliver"] = {
        "post": _action(
            "deliverClaim",
            "报告交付（机构；少交付的部分退回基金）",
            "claims",
            "Claim",
            claim_id,
            body="Delivery",
        )
    }
    paths["/api/v1/claims/{claim_id}/confirm"] = {
        "post": _action(
            "confirmClaim", "回访确认交付（审核员）", "claims", "Claim", claim_id
        )
    }
    paths["/api/v1/claims/{claim_id}/cancel"] = {
        "post": _action(
            "cancelClaim",
            "取消认领（机构；预留资金退回基金）",
            "claims",
            "Claim",
            claim_id,
            "ReasonOptional",
        )
    }
    paths["/api/v1/stats"] = {
        "get": _op(
            "公开透明数据（不足 5 户的单元格为 null）",
            "stats",
            {**_ok("200", "Stats", "成功"), **_errors("401")},
            security=PUBLIC,
            op_id="getStats",
        )
    }
    paths["/api/v1/openapi.json"] = {
        "get": {
            "operationId": "getOpenapi",
            "summary": "本 API 的 OpenAPI 描述",
            "tags": ["meta"],
            "security": PUBLIC,
            "responses": {
                "200": {
                    "description": "OpenAPI 3.0 文档",
                    "content": {J: {"schema": {"type": "object"}}},
                },
                **_errors("401"),
            },
        }
    }
    paths["/api/v1/docs"] = {
        "get": {
            "operationId": "getDocs",
            "summary": "API 文档页面（HTML）",
            "tags": ["meta"],
            "security": PUBLIC,
            "responses": {
                "200": {
                    "description": "HTML 页面",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
                **_errors("401"),
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "善联 CharityLink API",
            "version": "1",
            "description": "政府社会救助与慈善资源衔接平台的集成接口（JSON）。"
            "金额均为以分为单位的整数，日期为 YYYY-MM-DD。错误统一为 "
            '{"error": {"code", "message", "fields"}}。',
        },
        "servers": [{"url": server_url}],
        "tags": [
            {"name": t, "description": d}
            for t, d in (
                ("tokens", "登录与令牌"),
                ("orgs", "慈善组织"),
                ("funds", "冠名基金与专项基金"),
                ("projects", "帮扶项目"),
                ("needs", "困难群众需求"),
                ("claims", "认领认捐与交付"),
                ("stats", "透明数据"),
                ("meta", "文档"),
            )
        ],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "POST /api/v1/tokens 获取；请求头 "
                    "Authorization: Bearer <token>",
                }
            },
        },
    }
