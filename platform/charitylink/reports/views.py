"""Pages of the reports feature (public and work-area routes, full paths)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)
