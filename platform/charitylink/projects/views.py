"""Pages of the projects feature (public and work-area routes, full paths)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("projects", __name__)
