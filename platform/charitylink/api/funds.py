"""API endpoints (see SPEC §5)."""

from __future__ import annotations

from charitylink.api import bp  # noqa: F401
