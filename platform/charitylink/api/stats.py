"""``GET /api/v1/stats``: the public transparency figures (docs/reports.md)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields as mfields

from charitylink.api import PUBLIC, bp, operation
from charitylink.api.fields import FEN_TEXT, Answer, Integer, Text, choice
from charitylink.reports import transparency

_HIDDEN = "金额，单位分；不足 5 户时为 null"


def _count() -> Integer:
    return Integer(allow_none=True)


def _fen() -> Integer:
    return Integer(allow_none=True, metadata={"description": _HIDDEN})


def _suppressed() -> mfields.Dict:
    return mfields.Dict(
        keys=Text(),
        values=choice(("lt5", "complementary")),
        metadata={
            "description": "被隐去的数字组 → 原因：lt5（不足 5 户）或 complementary"
            "（可由合计推算）"
        },
    )


class StatsCellSchema(Answer):
    needs_published = _count()
    households = _count()
    amount_requested = _fen()
    amount_claimed = _fen()
    households_reached = _count()
    amount_delivered = _fen()
    amount_confirmed = _fen()
    deliveries = _count()
    region_code = Text()
    region_name = Text()
    level = Text()
    need_type = Text()
    month = Text()
    suppressed = _suppressed()


class ComplaintMonthSchema(Answer):
    month = Text(required=True)
    complaints_received = Integer(required=True)
    complaints_resolved = Integer(required=True)
    complaints_founded = Integer(required=True)
    median_days_to_resolve = mfields.Float(
        required=True, allow_none=True, metadata={"description": "当月办结的举报"}
    )


class SuppressionSchema(Answer):
    threshold_households = Integer()
    note = Text()


class InKindCellSchema(Answer):
    """Help in kind (服务、物资、结对); null where fewer than 5 households."""

    region_code = Text()
    month = Text()
    households = Integer(allow_none=True)
    households_in_pairing = Integer(allow_none=True)
    sessions = Integer(allow_none=True, metadata={"description": "服务次数"})
    hours = mfields.Float(allow_none=True, metadata={"description": "服务时长（小时）"})
    goods_value = Integer(
        attribute="goods_fen",
        allow_none=True,
        metadata={"description": "物资折价；" + FEN_TEXT},
    )
    active_pairings = Integer(allow_none=True, metadata={"description": "进行中的结对"})
    completed_pairings = Integer(
        allow_none=True, metadata={"description": "已完成的结对"}
    )
    suppressed = Text(metadata={"description": "primary、secondary，或空串"})


class InKindSchema(Answer):
    totals = mfields.Nested(InKindCellSchema)
    by_region = mfields.List(mfields.Nested(InKindCellSchema))
    by_month = mfields.List(mfields.Nested(InKindCellSchema))


class StatsSchema(Answer):
    needs_published = Integer(required=True, allow_none=True)
    needs_fully_claimed = _count()
    households_reached = _count()
    amount_requested = _fen()
    amount_claimed = _fen()
    amount_delivered = _fen()
    amount_confirmed = _fen()
    orgs_verified = Integer()
    funds = Integer()
    donations_total = Integer(metadata={"description": FEN_TEXT})
    suppressed = _suppressed()
    by_region = mfields.List(mfields.Nested(StatsCellSchema), required=True)
    by_need_type = mfields.List(mfields.Nested(StatsCellSchema), required=True)
    by_month = mfields.List(mfields.Nested(StatsCellSchema), required=True)
    complaints_received = Integer(required=True, metadata={"description": "收到的举报"})
    complaints_resolved = Integer(
        required=True, metadata={"description": "已办结的举报"}
    )
    complaints_founded = Integer(
        required=True, metadata={"description": "经核查属实的举报"}
    )
    median_days_to_resolve = mfields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "从收到到办结的天数中位数；尚无办结时为 null"},
    )
    complaints_by_month = mfields.List(
        mfields.Nested(ComplaintMonthSchema),
        required=True,
        metadata={"description": "收到按提交月份，办结、属实与用时按办结月份"},
    )
    suppression = mfields.Nested(SuppressionSchema)
    in_kind = mfields.Nested(
        InKindSchema,
        metadata={
            "description": "物资、服务与结对关爱（按地区、月份；不足 5 户为 null）"
        },
    )


@bp.get("/stats")
@operation(
    "getStats",
    "公开透明数据（不足 5 户的单元格为 null）",
    "stats",
    errors=("401",),
    security=PUBLIC,
)
@bp.response(200, StatsSchema, description="成功")
def stats() -> dict[str, Any]:
    """Amounts in fen over every need ever published; a figure resting on fewer
    than 5 households (or derivable from the totals) is null, and ``suppressed``
    says why."""
    figures = transparency.figures()
    from charitylink.reports import in_kind

    return {**transparency.api_payload(figures), "in_kind": in_kind.figures()}
