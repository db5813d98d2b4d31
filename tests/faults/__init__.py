"""The fault suite: real gunicorn, Celery worker and beat processes against servers each test owns
(a Redis, a broker Redis, a MariaDB, a link to the data platform), broken under real HTTP traffic.

Each test kills or cuts one thing, brings it back, and then asserts the shop's invariants exactly
(invariants.py) and that no process had to be restarted. It runs with `make test` (marker
`faults`, a few minutes; `pytest -m "not faults"` leaves it out while working on something else)
and prints a table of what each fault cost: requests, errors by request and status, invariants.
"""
