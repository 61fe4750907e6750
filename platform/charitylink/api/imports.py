"""POST /api/v1/needs/import: bulk create/update of needs by ``external_id``."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import fields as mfields

from charitylink.api import WRITE_ERRORS, accepts, body, bp, operation, require_user
from charitylink.api.fields import Answer, Body, Boolean, Integer, Text, choice, items
from charitylink.core import params
from charitylink.extensions import db
from charitylink.needs import importing

PARAMS = [
    params.Param("dry_run", "只预览，不写入", kind="boolean", default=False),
]


def _rows() -> mfields.List:
    # Any row is taken: each is checked on its own and reported in the result (a
    # bad row is refused there and changes nothing; the others are imported).
    return items(
        mfields.Raw(
            metadata={"description": "一行需求，字段同 NeedInput，另需 external_id"}
        ),
        "需求行",
        min_items=1,
        max_items=importing.MAX_ROWS,
        required=True,
    )


class ImportRowsSchema(Body):
    rows = _rows()


# The body: the rows themselves, or an object holding them.
IMPORT_REQUEST = {
    "description": "需求数组，或 {rows: [...]}；每行的字段同 NeedInput（另需 external_id），"
    "逐行校验并在结果中报告，坏行不影响其他行",
    "oneOf": [
        {
            "type": "array",
            "items": {"description": "一行需求，字段同 NeedInput，另需 external_id"},
            "minItems": 1,
            "maxItems": importing.MAX_ROWS,
        },
        ImportRowsSchema,
    ],
}


class ImportRowSchema(Answer):
    row = Integer(required=True, metadata={"description": "数组中的序号，从 1 开始"})
    external_id = Text(required=True, allow_none=True)
    status = choice(("created", "updated", "unchanged", "refused"), required=True)
    code = Text(
        required=True, allow_none=True, metadata={"description": "需求编号（XQ-…）"}
    )
    error_code = Text(
        allow_none=True,
        metadata={
            "description": "validation_failed, duplicate_external_id, forbidden, "
            "external_id_taken（外部编号已被其他地区的需求使用）, "
            "claimed（已被认领，不会修改）, invalid_transition ..."
        },
    )
    message = Text(allow_none=True)
    errors = mfields.Dict(keys=Text(), values=Text(), required=True)


class ImportSummarySchema(Answer):
    created = Integer(required=True)
    updated = Integer(required=True)
    unchanged = Integer(required=True)
    refused = Integer(required=True)
    total = Integer(required=True)


class ImportResultSchema(Answer):
    dry_run = Boolean(required=True)
    summary = mfields.Nested(ImportSummarySchema, attribute="counts", required=True)
    rows = mfields.List(
        mfields.Nested(ImportRowSchema), attribute="outcomes", required=True
    )


@bp.post("/needs/import")
@operation(
    "importNeeds",
    "批量导入需求（按 external_id 新建/更新/不变，逐行报告）",
    "needs",
    errors=WRITE_ERRORS,
    params=PARAMS,
    idempotent=True,
    description="最多 5000 行（超过返回 422）。已被认领的需求不会被修改（该行 "
    "refused，error_code=claimed）；只有草稿或已驳回的需求可被更新。"
    "同一文件中重复的 external_id，后出现的行被拒绝。只能导入本人负责区划内的需求。",
)
@accepts(IMPORT_REQUEST)
@bp.response(
    200,
    ImportResultSchema,
    description="逐行结果；被拒绝的行不改变任何数据，其余行照常导入",
)
def import_needs() -> Any:
    """Each row's outcome; good rows are kept, bad rows change nothing.

    ``?dry_run=true`` classifies the rows (the preview) without writing."""
    user = require_user()
    dry_run = params.parse(PARAMS, request.args)["dry_run"]
    rows = importing.rows_from_json(body())
    result = importing.run_import(user, rows, dry_run=dry_run)
    if dry_run:
        db.session.rollback()  # the preview writes nothing
    return result
