"""The ``register_*`` steps of ``create_app``."""

from __future__ import annotations

import functools
import logging
import sqlite3
from types import SimpleNamespace
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from charitylink.core import i18n
from charitylink.core.i18n import N_, TranslatedLabels, _
from charitylink.extensions import csrf, db, limiter, login_manager, migrate

log = logging.getLogger(__name__)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside one writer; foreign keys are off by default in
    # SQLite (docs/claims.md, "Why no SELECT … FOR UPDATE").
    if isinstance(dbapi_conn, sqlite3.Connection):
        cur = dbapi_conn.cursor()
        # secure_delete: freed space is zeroed, so an erased private half
        # (privacy purge) leaves no bytes behind in the file (docs/privacy.md).
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "secure_delete=ON",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()


def register_extensions(app: Flask) -> None:
    from charitylink import models  # noqa: F401  (complete metadata)
    from charitylink.config import ROOT

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "platform" / "charitylink" / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    i18n.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = N_("请先登录。")
    login_manager.localize_callback = _
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    register_search(app)
    from charitylink import mail

    mail.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> Any:
        from charitylink.accounts.services import load_session_user

        return load_session_user(user_id)


def register_search(app: Flask) -> None:
    from charitylink.search import init_app

    init_app(app)


def register_security(app: Flask) -> None:
    from charitylink.core import cache, page_cache, security, shared

    # The embed widgets' cookie guard sits right around the app, inside the
    # page cache, so a cached widget carries no cookie either.
    security.install_embed_cookie_guard(app)
    # The page cache sits inside ProxyFix (installed by security): it keys pages
    # on the scheme and host as the proxy reported them.
    page_cache.init_app(app)
    security.init_app(app)
    cache.init_app(app)
    shared.init_app(app)  # REDIS_URL: the caches' stamp shared by every node


class _DbIntConverter(IntegerConverter):
    """``<int:...>`` ids: one beyond the INTEGER column range cannot exist, so it
    becomes 0 (no row) and the view answers its usual 404, instead of a driver
    OverflowError/DataError (a 500) on SQLite or PostgreSQL."""

    regex = r"\d{1,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= 2**31 - 1 else 0


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = _DbIntConverter
    from charitylink.accounts.views import bp as accounts_bp
    from charitylink.admin.views import bp as admin_bp
    from charitylink.api import register as register_api
    from charitylink.claims.pairing_views import bp as pairing_bp
    from charitylink.claims.views import bp as claims_bp
    from charitylink.complaints.views import bp as complaints_bp
    from charitylink.exports.views import bp as exports_bp
    from charitylink.funds.views import bp as funds_bp
    from charitylink.integrity.views import bp as integrity_bp
    from charitylink.mail.views import bp as mail_bp
    from charitylink.needs.views import bp as needs_bp
    from charitylink.notifications.views import bp as notifications_bp
    from charitylink.offers.views import bp as offers_bp
    from charitylink.orgs.views import bp as orgs_bp
    from charitylink.printing.views import bp as printing_bp
    from charitylink.privacy.request_views import bp as privacy_requests_bp
    from charitylink.privacy.views import bp as privacy_bp
    from charitylink.projects.views import bp as projects_bp
    from charitylink.public.views import bp as public_bp
    from charitylink.reports.views import bp as reports_bp
    from charitylink.webhooks.views import bp as webhooks_bp
    from charitylink.workspace.views import bp as workspace_bp

    for bp in (
        public_bp,
        accounts_bp,
        orgs_bp,
        funds_bp,
        projects_bp,
        needs_bp,
        claims_bp,
        pairing_bp,
        reports_bp,
        workspace_bp,
        admin_bp,
        exports_bp,
        printing_bp,
        mail_bp,
        notifications_bp,
        complaints_bp,
        integrity_bp,
        webhooks_bp,
        privacy_requests_bp,
        offers_bp,
        privacy_bp,
    ):
        app.register_blueprint(bp)
    register_api(app)  # the API's blueprint, with its generated document
    from charitylink import portals

    # Feeds, sitemap, embeds; CORS and conditional GET on the public reads
    # (after the API, whose routes it names).
    portals.init_app(app)
    from charitylink.core.transaction import wrap_views

    wrap_views(app)  # no view commits: one transaction per request


def register_error_handlers(app: Flask) -> None:
    from charitylink.errors import register_error_handlers as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from charitylink.core import formatting

    formatting.register(app)

    from charitylink.core.permissions import MODERATION_ROLES, ORG_ROLES, Role

    # Templates compare roles against the enum, never a spelled-out string.
    app.jinja_env.globals.update(
        Role=Role, ORG_ROLES=ORG_ROLES, MODERATION_ROLES=MODERATION_ROLES
    )

    @app.context_processor
    def labels() -> dict[str, Any]:
        # Read through gettext: each label in the request's language.
        return {
            "L": SimpleNamespace(
                **{
                    name: TranslatedLabels(value)
                    for name, value in vars(_label_sets()).items()
                }
            )
        }

    @app.context_processor
    def org_banner() -> dict[str, Any]:
        return {"org_block_banner": _org_block_banner}


@functools.cache
def _label_sets() -> SimpleNamespace:
    """The Chinese labels each feature's models define next to their enums (every
    module-level ``*_LABELS`` dict), for templates: ``L.NEED_TYPE_LABELS[...]``
    (translated per request by the context processor)."""
    from charitylink.accounts import models as accounts
    from charitylink.claims import models as claims
    from charitylink.complaints import models as complaints
    from charitylink.core import audit
    from charitylink.funds import models as funds
    from charitylink.needs import models as needs
    from charitylink.orgs import models as orgs
    from charitylink.privacy import models as privacy
    from charitylink.projects import models as projects

    return SimpleNamespace(
        **{
            name: value
            for module in (
                accounts,
                audit,
                claims,
                complaints,
                funds,
                needs,
                orgs,
                projects,
                privacy,
            )
            for name, value in vars(module).items()
            if name.endswith("_LABELS") and isinstance(value, dict)
        }
    )


def _org_block_banner() -> str | None:
    """The banner a suspended org's staff see on every page: why they cannot act
    (the same text as each refusal)."""
    from flask_login import current_user
    from sqlalchemy.exc import SQLAlchemyError

    from charitylink.core.permissions import org_block_message

    user = current_user
    if not getattr(user, "is_authenticated", False) or not user.is_org_staff:
        return None
    try:
        org = user.org
        if org is None or org.status != "suspended":
            return None
        return org_block_message(org.status, org.status_reason)
    except SQLAlchemyError:  # an error page while the database is away
        return None


def register_cli(app: Flask) -> None:
    from charitylink.cli import register

    register(app)
