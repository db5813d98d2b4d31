"""Servers a fault test owns and breaks: a Redis, a MariaDB and a TCP link to the data platform.

Never the shared ones: each listens on a free loopback port of its own and dies with the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import MySQLdb
import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(ready, *, what: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


class RedisServer:
    """`redis-server` without persistence: stopping it loses everything, as a crashed cache node does."""

    def __init__(self, *, log_dir: Path, name: str = "redis"):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.start()

    def ping(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait(self.ping, what="redis-server", proc=self.proc, log=self.log_path, timeout=10)

    def stop(self) -> None:
        """SIGKILL: connections drop at once and the data is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class MariaDBServer:
    """A MariaDB of its own (`mariadb-install-db` into a fresh directory), root without a password on TCP.

    `kill()` is `kill -9`; `start()` again runs InnoDB's crash recovery on the same data directory.
    The directory is short (under /tmp) because a Unix socket path is limited to about 100 bytes.
    """

    def __init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="fc-mariadb-", dir="/tmp"))
        self.datadir = self.base / "data"
        self.log_path = self.base / "mariadbd.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        install = [
            "mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", "--auth-root-authentication-method=normal",
            "--skip-test-db", *self._user(),
        ]  # fmt: skip
        subprocess.run(install, check=True, capture_output=True, timeout=120)
        self.start()

    @staticmethod
    def _user() -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def _connect(self, **kwargs):
        return MySQLdb.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=2, **kwargs)

    def ping(self) -> bool:
        try:
            self._connect().close()
            return True
        except MySQLdb.OperationalError:
            return False

    def start(self) -> None:
        command = [
            shutil.which("mariadbd") or "/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.datadir}",
            f"--port={self.port}", "--bind-address=127.0.0.1", f"--socket={self.base / 'sock'}", *self._user(),
            "--skip-name-resolve", "--innodb-buffer-pool-size=64M", "--max-connections=300",
        ]  # fmt: skip
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait(self.ping, what="mariadbd", proc=self.proc, log=self.log_path, timeout=60)

    def kill(self) -> None:
        """kill -9: no shutdown, open transactions are rolled back by crash recovery at the next start."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def create_database(self, name: str) -> None:
        conn = self._connect()
        try:
            conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        finally:
            conn.close()

    def url(self, database: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.base, ignore_errors=True)


class FaultyLink:
    """A TCP relay on a fixed loopback port in front of `upstream_port`, which a test can cut and restore.

    `down()` closes the listening socket and every open connection (callers get "connection refused",
    as from a platform that is down); `up()` listens on the same port again. `latency` delays each
    chunk sent upstream, so a relay run takes long enough to be interrupted.
    """

    def __init__(self, *, upstream_port: int, latency: float = 0.0):
        self.upstream_port = upstream_port
        self.latency = latency
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.1)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener:
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, delayed: bool) -> None:
        source.settimeout(None)
        try:
            while chunk := source.recv(65536):
                if delayed and self.latency:
                    time.sleep(self.latency)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)

    def close(self) -> None:
        self.down()


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
