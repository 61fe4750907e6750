"""Configuration: safe development defaults, overridden from the environment.

Production (``CHARITYLINK_ENV=production``) refuses to start with a default secret:
a leaked development key would let anyone forge sessions or read households' data.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEV_SECRET_KEY = "dev-secret-key-change-me"


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the app must not start."""


def _instance_path() -> Path:
    return Path(os.environ.get("CHARITYLINK_INSTANCE", ROOT / "instance"))


def _data_key(instance: Path, production: bool) -> str:
    """DATA_KEY from the environment, else a key generated once into instance/."""
    key = os.environ.get("DATA_KEY")
    if key:
        return key
    if production:
        raise ConfigError("生产环境必须通过环境变量 DATA_KEY 提供数据加密密钥。")
    key_file = instance / "data_key"
    if not key_file.exists():
        from charitylink.core.crypto import generate_data_key

        instance.mkdir(parents=True, exist_ok=True)
        key_file.write_text(generate_data_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _secret_key(instance: Path, production: bool) -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        if production and (key == DEV_SECRET_KEY or len(key) < 32):
            raise ConfigError("生产环境的 SECRET_KEY 不能是默认值，且至少 32 个字符。")
        return key
    if production:
        raise ConfigError("生产环境必须通过环境变量 SECRET_KEY 提供会话密钥。")
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration: defaults < environment < ``overrides`` (tests)."""
    overrides = dict(overrides or {})
    production = overrides.get(
        "PRODUCTION", os.environ.get("CHARITYLINK_ENV", "development") == "production"
    )
    instance = Path(overrides.get("INSTANCE_PATH", _instance_path()))
    instance.mkdir(parents=True, exist_ok=True)
    cfg: dict[str, Any] = {
        "PRODUCTION": production,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance / 'charitylink.db'}"
        ),
        "SEARCH_INDEX_DIR": os.environ.get(
            "SEARCH_INDEX_DIR", str(instance / "search")
        ),
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND", "auto"),
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR", str(instance / "uploads")),
        "MAX_CONTENT_LENGTH": int(
            os.environ.get("MAX_CONTENT_LENGTH", 8 * 1024 * 1024)
        ),
        "EVIDENCE_MAX_BYTES": 5 * 1024 * 1024,
        "CLAIM_DUE_DAYS": int(os.environ.get("CLAIM_DUE_DAYS", 30)),
        # Complaints: accepted within, and resolved within, this many days of
        # receipt (docs/complaints.md); later ones are flagged overdue.
        "COMPLAINT_ACCEPT_DAYS": int(os.environ.get("COMPLAINT_ACCEPT_DAYS", 3)),
        "COMPLAINT_RESOLVE_DAYS": int(os.environ.get("COMPLAINT_RESOLVE_DAYS", 15)),
        "DISPUTE_ANSWER_DAYS": int(os.environ.get("DISPUTE_ANSWER_DAYS", 14)),
        # An Idempotency-Key whose request never committed anything is taken
        # over after this long (its worker died): well past any request's
        # life under gunicorn's timeout.
        "IDEMPOTENCY_STALE_SECONDS": int(
            os.environ.get("IDEMPOTENCY_STALE_SECONDS", 600)
        ),
        # Personal information (docs/privacy.md): the private half is kept this
        # many days after a need ends, then `privacy purge` erases it; a
        # person's request is answered within PRIVACY_REQUEST_DAYS. The purge
        # log file lives outside the database so a restore can re-apply it.
        "PRIVATE_RETENTION_DAYS": int(os.environ.get("PRIVATE_RETENTION_DAYS", 1095)),
        "PRIVACY_REQUEST_DAYS": int(os.environ.get("PRIVACY_REQUEST_DAYS", 15)),
        # A complainant's contact serves the handling of the complaint: kept
        # this many days after it is resolved, then `privacy purge` erases it.
        "COMPLAINT_CONTACT_RETENTION_DAYS": int(
            os.environ.get("COMPLAINT_CONTACT_RETENTION_DAYS", 180)
        ),
        "PURGE_LOG_FILE": os.environ.get(
            "PURGE_LOG_FILE", str(instance / "purge-log.jsonl")
        ),
        # Integrity signals and the claim-abandon throttle (docs/integrity.md).
        "CLAIM_ABANDON_OPEN_LIMIT": int(os.environ.get("CLAIM_ABANDON_OPEN_LIMIT", 3)),
        **{
            key: type(default)(os.environ.get(key, default))
            for key, default in (
                ("INTEGRITY_ABANDON_DAYS", 90),
                ("INTEGRITY_ABANDON_MIN", 5),
                ("INTEGRITY_ABANDON_SHARE", 0.5),
                ("INTEGRITY_DOUBLE_DIP_DAYS", 180),
                ("INTEGRITY_FAST_DELIVERY_MINUTES", 60),
                ("INTEGRITY_FAST_DELIVERY_DAYS", 90),
                ("INTEGRITY_CONCENTRATION_DAYS", 90),
                ("INTEGRITY_CONCENTRATION_SHARE", 0.6),
                ("INTEGRITY_CONCENTRATION_MIN_CLAIMS", 5),
            )
        },
        "TOKEN_TTL_HOURS": int(os.environ.get("TOKEN_TTL_HOURS", 24 * 30)),
        "PROXY_FIX_HOPS": int(os.environ.get("PROXY_FIX_HOPS", 0)),
        # Several app nodes share state through Redis (docs/multi-node.md): the
        # caches' generation and, unless RATELIMIT_STORAGE_URI says otherwise,
        # the rate limits. Unset: one node, files and memory, nothing to run.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # Keys are prefixed, so one Redis can serve several deployments.
        "REDIS_PREFIX": os.environ.get("REDIS_PREFIX", "charitylink:"),
        "REDIS_TIMEOUT": float(os.environ.get("REDIS_TIMEOUT", 0.5)),
        "REDIS_RETRY_SECONDS": float(os.environ.get("REDIS_RETRY_SECONDS", 2)),
        # How long a worker reuses the shared cache version it read: another
        # node's change shows on this node's cached pages within this time.
        "REDIS_VERSION_MAX_AGE": float(os.environ.get("REDIS_VERSION_MAX_AGE", 0.25)),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", ""),
        "RATELIMIT_ENABLED": True,
        # Retry-After on 429 answers (and X-RateLimit-* on limited routes).
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "DISPLAY_TIMEZONE": "Asia/Shanghai",
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "SEARCH_DRAIN_AFTER_REQUEST": not production,
        # Whole public pages for anonymous visitors, per worker (core/page_cache.py);
        # off in development so template edits show at once. 0 turns it off.
        "PAGE_CACHE_TTL": float(
            os.environ.get("PAGE_CACHE_TTL", 30 if production else 0)
        ),
        # Outgoing mail (docs/mail.md). Without MAIL_SERVER each mail is written
        # as an .eml file under instance/mail/, so a fresh checkout sends nothing
        # out but shows what it would have sent.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", 25)),
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "").lower()
        in ("1", "true", "yes", "on"),
        # Implicit TLS (port 465), as many providers offer instead of STARTTLS.
        "MAIL_USE_SSL": os.environ.get("MAIL_USE_SSL", "").lower()
        in ("1", "true", "yes", "on"),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "善联 CharityLink <no-reply@localhost>"
        ),
        # A server that does not answer must not hold the job for minutes.
        "MAIL_TIMEOUT": int(os.environ.get("MAIL_TIMEOUT", 30)),
        "MAIL_MAX_ATTEMPTS": int(os.environ.get("MAIL_MAX_ATTEMPTS", 8)),
        "MAIL_FILE_PATH": os.environ.get("MAIL_FILE_PATH", str(instance / "mail")),
        # The address links in mails point to: mails are written by jobs outside
        # any request, which cannot know the host name people use.
        "BASE_URL": os.environ.get("BASE_URL", "http://localhost:5000"),
        # Sites allowed to frame the embeddable widgets (/embed/needs,
        # /embed/projects): space-separated origins, none by default
        # (docs/portals.md). Every other page may never be framed.
        "EMBED_ORIGINS": os.environ.get("EMBED_ORIGINS", ""),
        "TESTING": False,
        # Webhooks (docs/webhooks.md): a receiver that does not answer within
        # WEBHOOK_TIMEOUT seconds counts as a failure. WEBHOOK_ALLOW_LOOPBACK
        # lets hooks reach 127.0.0.1 (tests, a developer's receiver); never
        # in production, where only public https addresses are accepted.
        "WEBHOOK_TIMEOUT": float(os.environ.get("WEBHOOK_TIMEOUT", 10)),
        "WEBHOOK_ALLOW_LOOPBACK": not production
        and os.environ.get("WEBHOOK_ALLOW_LOOPBACK", "").lower()
        in ("1", "true", "yes", "on"),
        # Sync: changes younger than this are not listed yet, so a transaction
        # still open when a page is read cannot commit behind the cursor.
        "SYNC_SETTLE_SECONDS": float(os.environ.get("SYNC_SETTLE_SECONDS", 5)),
        # Privacy (docs/consents.md): an account viewing more private halves
        # than this in an hour is flagged to the admins; a download link of an
        # export with private data works once, for this many hours.
        "PRIVATE_VIEW_ALERT": int(os.environ.get("PRIVATE_VIEW_ALERT", 50)),
        "PRIVATE_EXPORT_HOURS": int(os.environ.get("PRIVATE_EXPORT_HOURS", 24)),
    }
    cfg.update(
        {k: v for k, v in overrides.items() if k not in ("SECRET_KEY", "DATA_KEY")}
    )
    if "MAIL_BACKEND" not in cfg:
        cfg["MAIL_BACKEND"] = (
            "smtp" if cfg["MAIL_SERVER"] else "charitylink.mail.eml.EmailBackend"
        )
    if "MAIL_SEND_AFTER_REQUEST" not in cfg:
        cfg["MAIL_SEND_AFTER_REQUEST"] = not (
            production or cfg["MAIL_SERVER"] or cfg["TESTING"]
        )
    cfg["BASE_URL"] = str(cfg["BASE_URL"]).rstrip("/")
    _rate_limit_storage(cfg)
    cfg["SECRET_KEY"] = overrides.get("SECRET_KEY") or _secret_key(instance, production)
    cfg["DATA_KEY"] = overrides.get("DATA_KEY") or _data_key(instance, production)
    if production and cfg["SECRET_KEY"] == DEV_SECRET_KEY:
        raise ConfigError("生产环境的 SECRET_KEY 不能是默认值。")
    uri = cfg["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgres://")
    elif uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    cfg["SQLALCHEMY_DATABASE_URI"] = uri
    engine_opts = dict(cfg["SQLALCHEMY_ENGINE_OPTIONS"])
    if uri.startswith("sqlite"):
        # busy_timeout: writers wait for the lock instead of failing at once.
        engine_opts.setdefault("connect_args", {"timeout": 15})
    else:
        engine_opts.setdefault("pool_pre_ping", True)
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine_opts
    return cfg


def _rate_limit_storage(cfg: dict[str, Any]) -> None:
    """Rate limits in memory on one node; in Redis when ``REDIS_URL`` is set (a
    limit counted per node would let an attacker multiply it by the nodes)."""
    if not cfg.get("RATELIMIT_STORAGE_URI"):
        cfg["RATELIMIT_STORAGE_URI"] = cfg.get("REDIS_URL") or "memory://"
    if cfg["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        return
    # Redis not answering must not turn a login into a 500: the limiter counts
    # in this process's memory until it answers again, and does not wait long.
    cfg.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    cfg.setdefault(
        "RATELIMIT_STORAGE_OPTIONS",
        {
            "socket_timeout": cfg.get("REDIS_TIMEOUT", 0.5),
            "socket_connect_timeout": cfg.get("REDIS_TIMEOUT", 0.5),
        },
    )
    cfg.setdefault("RATELIMIT_KEY_PREFIX", f"{cfg.get('REDIS_PREFIX', '')}limits")
