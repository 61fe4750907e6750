"""State shared by every app node through Redis, when ``REDIS_URL`` is set.

One node alone needs none of this: the caches' generation stamp is a file in the
instance folder that every worker of the node can ``stat()``, and the rate limits
live in memory (docs/multi-node.md). Several nodes behind a load balancer cannot
see each other's files or memory, so with ``REDIS_URL`` set:

- the caches' generation (core/cache.py, core/page_cache.py) also carries a
  version key in Redis: every commit that changes a watched table ``INCR``\\ s it,
  and cache lookups on every node read it (one ``GET``, reused for at most
  ``REDIS_VERSION_MAX_AGE`` seconds by a worker), so a change made through one
  node drops the cached pages and figures of all of them within that time (the
  node that made it: at once, through its stamp file);
- the rate limits count in Redis (``RATELIMIT_STORAGE_URI``, config.py).

Redis failing must never cost a visitor a page: a lookup that cannot read the
version answers "unknown", and the caches then serve nothing they hold and
store nothing (every page is rendered from the database, which is always
right). After a failure Redis is not asked again for ``REDIS_RETRY_SECONDS``,
so an outage does not add a connection timeout to every request; the outage and
the recovery are each logged once. When Redis answers again the node moves the
version once, because a change committed during the outage could not move it.

The version starts from a random number, not 0: a Redis restarted without its
data must not bring back a version that pages cached before it still carry.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

EXTENSION = "charitylink_shared"
VERSION_KEY = "cache-generation"


class SharedVersion:
    """The caches' generation as a Redis counter, read and moved per process."""

    def __init__(
        self,
        url: str,
        prefix: str,
        timeout: float = 0.5,
        retry: float = 2.0,
        max_age: float = 0.25,
    ) -> None:
        self.url = url
        self.key = f"{prefix}{VERSION_KEY}"
        self.timeout = timeout
        self.retry = retry
        # A cached page costs well under a millisecond: a Redis round trip for
        # every one would double it. A version a quarter of a second old keeps
        # the promise (another node's change shows within a second).
        self.max_age = max_age
        self._seen: tuple[float, int] | None = None  # (read at, version)
        self._client: Any = None
        self._lock = threading.Lock()
        self._down_until = 0.0  # monotonic; Redis not asked before then
        self._down = False
        self._owed_bump = False  # a change committed while Redis was down

    def _redis(self) -> Any:
        if self._client is None:
            import redis

            # The pool notices a fork (gunicorn workers) and opens its own
            # connections in each worker.
            self._client = redis.Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                health_check_interval=30,
            )
        return self._client

    def _base(self) -> int:
        return secrets.randbits(52)

    def _failed(self, exc: Exception) -> None:
        self._seen = None
        with self._lock:
            self._down_until = time.monotonic() + self.retry
            first = not self._down
            self._down = True
        if first:
            log.warning(
                "Redis (%s) did not answer (%s): caches bypassed until it does",
                self.key,
                type(exc).__name__,
            )

    def _answered(self) -> None:
        if not self._down:
            return
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            log.warning("Redis (%s) answers again: caches back on", self.key)
            # A change committed anywhere while this node could not reach Redis
            # may not have moved the version: move it now, once.
            self._owed_bump = True

    def _available(self) -> bool:
        return not self._down or time.monotonic() >= self._down_until

    def read(self) -> int | None:
        """The current version, or ``None`` when Redis cannot tell."""
        seen = self._seen
        now = time.monotonic()
        if seen is not None and now - seen[0] < self.max_age:
            return seen[1]
        if not self._available():
            return None
        try:
            client = self._redis()
            raw = client.get(self.key)
            if raw is None:
                client.set(self.key, self._base(), nx=True)
                raw = client.get(self.key)
            self._answered()
            if self._owed_bump:
                return self.bump()
            self._seen = (now, int(raw))
            return int(raw)
        except Exception as exc:  # any Redis or socket error: fail safe
            self._failed(exc)
            return None

    def bump(self) -> int | None:
        """Move the version: every node drops what it cached before."""
        if not self._available():
            self._owed_bump = True
            return None
        try:
            pipe = self._redis().pipeline(transaction=False)
            pipe.set(self.key, self._base(), nx=True)
            pipe.incr(self.key)
            version = int(pipe.execute()[1])
            self._seen = (time.monotonic(), version)
            self._answered()
            self._owed_bump = False  # this move is the one owed, if any
            return version
        except Exception as exc:
            self._owed_bump = True
            self._failed(exc)
            return None


def init_app(app: Flask) -> None:
    url = str(app.config.get("REDIS_URL") or "")
    if not url:
        app.extensions.pop(EXTENSION, None)
        return
    app.extensions[EXTENSION] = SharedVersion(
        url,
        str(app.config.get("REDIS_PREFIX", "charitylink:")),
        timeout=float(app.config.get("REDIS_TIMEOUT", 0.5)),
        retry=float(app.config.get("REDIS_RETRY_SECONDS", 2.0)),
        max_age=float(app.config.get("REDIS_VERSION_MAX_AGE", 0.25)),
    )


def version_of(app: Flask) -> SharedVersion | None:
    found = app.extensions.get(EXTENSION)
    return found if isinstance(found, SharedVersion) else None
