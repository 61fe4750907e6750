"""One Redis for the whole session (tests/redis_server.py); each test gets its
own key prefix, so counts and versions never leak from one test to the next."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_prefix() -> str:
    return f"cltest:{uuid.uuid4().hex[:10]}:"
