"""Each gunicorn instance has a control socket of its own (issue 11, defect 13)."""

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.config.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def _start(port: int, runtime_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "XDG_RUNTIME_DIR": str(runtime_dir),
    }
    command = [str(GUNICORN), "config.wsgi:application", "--config", "config/gunicorn.py", "--access-logfile", "/dev/null"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _wait_for_livez(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=1) as response:
                assert response.status == 200
                return
        except OSError:
            assert time.monotonic() < deadline, f"gunicorn on {port} did not answer"
            time.sleep(0.1)


def test_two_instances_on_one_machine_each_keep_their_own_control_socket(tmp_path):
    ports = [free_port(), free_port()]
    processes = [_start(port, tmp_path) for port in ports]
    try:
        for port in ports:
            _wait_for_livez(port)
        sockets = sorted(path.name for path in tmp_path.iterdir() if path.suffix == ".ctl")
        assert sockets == sorted(f"flashcart-gunicorn-127.0.0.1_{port}.ctl" for port in ports)
        assert all((tmp_path / name).is_socket() for name in sockets)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
