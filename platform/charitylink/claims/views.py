"""Pages of the claims feature (public and work-area routes, full paths)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("claims", __name__)
