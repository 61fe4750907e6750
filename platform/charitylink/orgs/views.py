"""Pages of the orgs feature (public and work-area routes, full paths)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("orgs", __name__)
