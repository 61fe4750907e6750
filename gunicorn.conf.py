"""gunicorn settings for ``make serve`` and the load benchmark (``bench/load.py``).

Everything can be overridden from the environment (``GUNICORN_*`` or ``BIND``) so the
same file serves a laptop, a benchmark and a production node behind nginx.
"""

from __future__ import annotations

import multiprocessing
import os

# Loopback by default: in production nginx sits in front (docs/deployment.md).
bind = os.environ.get("BIND", os.environ.get("GUNICORN_BIND", "127.0.0.1:8000"))

# Sync workers: the app is CPU-bound (Jinja, SQLAlchemy) and its DB calls are short.
# On 2 cores, 2 workers reach the same rate as 4 (docs/deployment.md), so one worker
# per core plus one to cover a blocked request.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "sync"
threads = 1

timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Recycle workers now and then so a slow leak cannot grow without bound; jitter keeps
# them from restarting together. A new worker starts with empty caches (whole pages,
# figures, report figures computed at start-up), so not too often: at 200 req/s per
# worker, 200,000 requests is about a quarter of an hour.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 200000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 20000))

# Bound the request line and headers (slow-loris / header flooding).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Import the app once in the master: workers share its memory (copy on write) and a
# broken configuration (a default SECRET_KEY in production) stops the master at once.
preload_app = True

# Access log: the path WITHOUT the query string (%(U)s, not %(r)s). Search terms and
# filters in ``?q=`` may carry a household's name or ID number typed by mistake. No
# Referer either (%(f)s): our own pages send their full URL, query included.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")

# Proxy headers are handled by the app (PROXY_FIX_HOPS); gunicorn itself trusts
# X-Forwarded-* only from loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    """Give each worker its own database connections.

    The app is imported before the fork; a pooled connection inherited from the
    master would be shared by two processes and corrupt the protocol stream.
    ``dispose(close=False)`` drops the inherited pool without closing the parent's
    sockets (SQLAlchemy pooling docs, "Using Connection Pools with Multiprocessing").
    The app opens no connection while it is created, so normally there is nothing
    to drop; this is the safety net.
    """
    flask_app = server.app.wsgi()  # the preloaded callable (ProxyFix wraps inside)
    if "sqlalchemy" not in getattr(flask_app, "extensions", {}):
        return  # bench/hello.py: no database
    from charitylink.extensions import db

    with flask_app.app_context():
        db.engine.dispose(close=False)
    worker.log.debug("worker %s: inherited database pool disposed", worker.pid)
