"""`make run`: the shop, its periodic jobs and the payment gateway simulator, started in order and
stopped together.

1. migrate; 2. the PG simulator and `runserver`; 3. once the server answers, the demo data (its
events reach the development receiver on that same server) and `runjobs`; 4. the addresses and
logins. Ctrl-C (or SIGTERM) stops runjobs, then the server, then the simulator, each in its own
process group, and waits for them: no traceback, nothing left running. If one of them dies, the
others are stopped and the exit status says so.

Usage: python tools/devserver.py [--port 8000] [--pg-port 8001] [--noreload]
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 15


class Stopped(Exception):
    """Ctrl-C or SIGTERM arrived while starting."""


class Supervisor:
    def __init__(self, *, port: int, pg_port: int, reload: bool = True):
        self.port, self.pg_port, self.reload = port, pg_port, reload
        self.site = f"http://127.0.0.1:{port}"
        self.children: list[tuple[str, subprocess.Popen, signal.Signals]] = []
        self.stopping = threading.Event()
        self.env = dict(os.environ)  # the Makefile has unset DATABASE_URL, REDIS_URL and CELERY_BROKER_URL
        self.env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        self.env["PYTHONUNBUFFERED"] = "1"
        self.env.setdefault("DJANGO_RUNSERVER_HIDE_WARNING", "true")  # we know it is the development server
        self.env.setdefault("SITE_URL", self.site)
        self.env.setdefault("DATA_PLATFORM_URL", f"{self.site}/dev/data-platform/events")
        self.env.setdefault("PG_URL", f"http://127.0.0.1:{pg_port}")

    def manage(self, *args: str) -> list[str]:
        return [sys.executable, "manage.py", *args]

    def run(self, *args: str, capture: bool = False) -> str:
        """A one-off management command. Ctrl-C ends it with SIGTERM (a quiet exit; migrate and
        seed_demo can run again) and stops the start-up."""
        process = subprocess.Popen(
            self.manage(*args), cwd=ROOT, env=self.env, text=True, stdout=subprocess.PIPE if capture else None, start_new_session=True
        )
        reader = threading.Thread(target=lambda: setattr(process, "captured", process.stdout.read()), daemon=True) if capture else None
        if reader:
            reader.start()
        while process.poll() is None:
            if self.stopping.wait(0.1):
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()
                raise Stopped
        if reader:
            reader.join()
        if process.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args)} failed (exit status {process.returncode}).")
        return getattr(process, "captured", "")

    def start(self, name: str, *args: str, stop_signal: signal.Signals = signal.SIGTERM) -> None:
        """A long-running command in its own process group, so the terminal's Ctrl-C reaches only this
        supervisor, which then stops each child in order with `stop_signal`."""
        process = subprocess.Popen(self.manage(*args), cwd=ROOT, env=self.env, start_new_session=True)
        self.children.append((name, process, stop_signal))

    def check_children(self) -> None:
        for name, process, _ in self.children:
            if process.poll() is not None:
                raise SystemExit(f"{name} stopped unexpectedly (exit status {process.returncode}).")

    def wait_until_answering(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.stopping.is_set():
                raise Stopped
            self.check_children()
            try:
                with urllib.request.urlopen(f"{self.site}/livez", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            self.stopping.wait(0.25)
        raise SystemExit(f"the server did not answer on {self.site} within {READY_TIMEOUT_SECONDS} s.")

    def stop(self) -> None:
        """Newest first: runjobs, then the server, then the simulator. runjobs finishes the job in hand
        on SIGTERM; runserver exits cleanly on SIGINT (its own Ctrl-C path)."""
        for name, process, stop_signal in reversed(self.children):
            if process.poll() is None:
                os.killpg(process.pid, stop_signal)
                try:
                    process.wait(STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    print(f"{name} did not stop within {STOP_TIMEOUT_SECONDS} s; killing it.", flush=True)
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

    def serve(self) -> None:
        for port in (self.port, self.pg_port):
            if not port_is_free(port):
                raise SystemExit(f"port {port} is in use: choose others, e.g. `make run PORT=8010 PG_PORT=8011`.")
        self.run("migrate", "--noinput", "--verbosity", "0")
        self.start("PG simulator", "pg_simulator", "--port", str(self.pg_port))
        reload = [] if self.reload else ["--noreload"]
        self.start("runserver", "runserver", f"127.0.0.1:{self.port}", *reload, stop_signal=signal.SIGINT)
        self.wait_until_answering()
        seeded = self.run("seed_demo", capture=True)
        print(seeded, end="", flush=True)
        self.start("runjobs", "runjobs")
        print(banner(self.site, seeded), flush=True)
        while not self.stopping.wait(0.5):
            self.check_children()


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def banner(site: str, seeded: str) -> str:
    logins = [line for line in seeded.splitlines() if " / " in line]
    return "\n".join(
        [
            "",
            f"Flashcart is running at {site}/",
            f"  admin      {site}/admin/",
            f"  API docs   {site}/api/v1/docs  (ReDoc: {site}/api/v1/redoc)",
            f"  events     {site}/dev/data-platform/events",
            f"  mailbox    {site}/dev/mailbox/",
            "Logins:",
            *logins,
            "Ctrl-C stops everything.",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--pg-port", type=int, default=8001)
    parser.add_argument("--noreload", action="store_true", help="do not restart the server when a file changes")
    options = parser.parse_args()
    supervisor = Supervisor(port=options.port, pg_port=options.pg_port, reload=not options.noreload)

    def request_stop(signum, frame):
        supervisor.stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    try:
        supervisor.serve()
    except Stopped:
        pass
    except SystemExit as exc:
        supervisor.stop()
        print(f"make run: {exc}", file=sys.stderr, flush=True)
        return 1
    supervisor.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
