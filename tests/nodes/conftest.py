import time
from dataclasses import dataclass

import pytest
from django.conf import settings

from tests.nodes.cluster import Server, Worker, node_environment
from tests.receiver import EventReceiver


@dataclass
class Cluster:
    servers: list[Server]
    workers: list[Worker]
    receiver: EventReceiver

    def logs(self) -> str:
        return "\n".join(f"--- {node.name}\n{node.log()[-3000:]}" for node in [*self.servers, *self.workers])


@pytest.fixture
def cluster(transactional_db, tmp_path):
    """Two gunicorn servers and two Celery workers (separate processes) on the test database and
    the suite's Redis, plus a data-platform receiver. Every process is stopped when the test ends,
    whatever happened, before the test database is flushed."""
    receiver = EventReceiver(secret=settings.DATA_PLATFORM_SECRET)
    env = node_environment(data_platform_url=receiver.url)
    nodes: list = []
    try:
        servers, workers = [], []
        for i in (1, 2):
            servers.append(Server(f"web{i}", env=env, log_dir=tmp_path))
            nodes.append(servers[-1])
            workers.append(Worker(f"worker{i}", env=env, log_dir=tmp_path))
            nodes.append(workers[-1])
        deadline = time.monotonic() + 90
        for node in nodes:
            node.wait_ready(deadline)
        yield Cluster(servers=servers, workers=workers, receiver=receiver)
    finally:
        for node in nodes:
            node.stop()
        receiver.close()
