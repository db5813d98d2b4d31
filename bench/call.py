"""Run one bench function inside Django and print its result as JSON.

    DJANGO_SETTINGS_MODULE=config.settings.production DATABASE_URL=... \\
        .venv/bin/python -m bench.call bench.seed:seed_users '{"count": 10, "prefix": "shopper"}'

The bench scripts drive gunicorn, a Celery worker and wrk from outside Django. What they need done
inside it (seeding, a relay or aggregation run, the invariant checks) is plain Python in
bench/seed.py, bench/jobs.py and bench/invariants.py, which import the shop's models and services
like any other module; `common.django_call()` runs one of those functions here, in a fresh process
with the bench database's environment. The JSON document is the last line of standard output.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

import django


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="module:function, a function of a bench module (e.g. bench.seed:seed_users)")
    parser.add_argument("kwargs", nargs="?", default="{}", help="its keyword arguments as a JSON object")
    args = parser.parse_args(argv)
    module_name, _, function_name = args.target.partition(":")
    if not module_name.startswith("bench.") or not function_name:
        parser.error(f"expected bench.<module>:<function>, got {args.target!r}")
    django.setup()
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**json.loads(args.kwargs))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
