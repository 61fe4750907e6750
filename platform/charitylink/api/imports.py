"""POST /api/v1/needs/import: bulk create/update of needs by ``external_id``."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from charitylink.api import bp, json_value, require_user, validation
from charitylink.core import params
from charitylink.extensions import db
from charitylink.needs import importing

PARAMS = [
    params.Param("dry_run", "只预览，不写入", kind="boolean", default=False),
]


@bp.post("/needs/import")
def import_needs() -> ResponseReturnValue:
    """Each row's outcome; good rows are kept, bad rows change nothing.

    ``?dry_run=true`` classifies the rows (the preview) without writing."""
    user = require_user()
    dry_run = params.parse(PARAMS, request.args)["dry_run"]
    body = json_value()
    validation.check("ImportRequest", body)
    rows = importing.rows_from_json(body)
    result = importing.run_import(user, rows, dry_run=dry_run)
    if dry_run:
        db.session.rollback()  # the preview writes nothing
    return jsonify(result.as_dict()), 200
