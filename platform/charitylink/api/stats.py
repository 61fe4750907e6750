"""``GET /api/v1/stats``: the public transparency figures (docs/reports.md)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from charitylink.api import bp
from charitylink.reports import cache, transparency


@bp.get("/stats")
def stats() -> ResponseReturnValue:
    """Amounts in fen over every need ever published; a figure resting on fewer
    than 5 households (or derivable from the totals) is null, and ``suppressed``
    says why."""
    figures = cache.cached(("public",), transparency.figures)
    return jsonify(transparency.api_payload(figures))
