"""Pages of the funds feature (public and work-area routes, full paths)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("funds", __name__)
