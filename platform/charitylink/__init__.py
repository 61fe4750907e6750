"""善联 CharityLink: the application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages, CLI.

    ``config`` overrides the environment (tests pass a temporary database)."""
    from charitylink import setup
    from charitylink.config import ROOT, load_config
    from charitylink.core import jsonbody

    settings = load_config(config)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=settings["INSTANCE_PATH"],
    )
    app.config.update(settings)
    # Every request body read as JSON goes through one parser that refuses lone
    # surrogates and deep nesting as bad input (core/jsonbody.py).
    app.json = jsonbody.JSONProvider(app)
    setup.register_extensions(app)
    setup.register_security(app)
    setup.register_blueprints(app)
    setup.register_error_handlers(app)
    setup.register_template_helpers(app)
    setup.register_cli(app)
    return app
