import pytest

from tests.config.redis_server import RedisServer


@pytest.fixture
def own_redis(tmp_path):
    """A running Redis server of this test's own; killed at the end whatever happened."""
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()
