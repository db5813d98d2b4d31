"""Keep one process running: start it again when it dies on its own, stop it cleanly when asked.

    python tools/supervise.py celery -A config worker --loglevel INFO

Why: the Celery worker can exit with "Unrecoverable error" when its Redis broker drops while it
holds unacknowledged tasks (kombu 5.7's restore_unacked fails on the closed connection). The
worker's own reconnection covers every other outage; for that one, this supervisor starts it
again, with a growing pause, so relaying resumes without anyone restarting anything. SIGTERM and
SIGINT are passed on to the process, and the supervisor exits with its exit code. Docker compose
restarts the container too, but a supervisor inside it keeps the worker's restart quick and works
the same without Docker.
"""

import signal
import subprocess
import sys
import time

FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0
# A process that ran this long before dying was healthy: its next restart starts with the shortest pause.
HEALTHY_AFTER_SECONDS = 60.0


def supervise(command: list[str]) -> int:
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = FIRST_PAUSE_SECONDS
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping:
            return code
        ran = time.monotonic() - started
        if ran >= HEALTHY_AFTER_SECONDS:
            pause = FIRST_PAUSE_SECONDS
        print(f"supervise: {command[0]} exited with {code} after {ran:.1f} s; restarting in {pause:.0f} s", file=sys.stderr, flush=True)
        deadline = time.monotonic() + pause
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return code
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: supervise.py COMMAND [ARG ...]")
    sys.exit(supervise(sys.argv[1:]))
