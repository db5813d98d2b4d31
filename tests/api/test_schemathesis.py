"""Schema-driven fuzzing: every operation of the OpenAPI schema, as an anonymous client, a shopper and staff.

Schemathesis generates requests from /api/v1/schema and checks each response: never a 5xx, and
status code, content type, headers and body as the schema documents them. Bounded (a few examples
per operation plus the boundary cases of the coverage phase, derandomized so CI runs the same
cases: about 3,500 requests), it takes about two minutes on two cores.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounts.services import issue_token
from apps.wallets.services import charge_wallet
from tests.factories import CategoryFactory, CouponFactory, ProductFactory, UserFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 10


def _load_schema():
    """The schema as the application serves it (loaded at collection: it needs no database)."""
    return schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does, unhook the WSGI handler's close_old_connections meanwhile:
    closing the connection at the end of a request would break the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def shop(db):
    """A little of everything, so generated ids sometimes name something."""
    category = CategoryFactory()
    products = [ProductFactory(category=category, stock=50) for _ in range(3)]
    CouponFactory()
    return products


def _member(*, is_staff: bool):
    user = UserFactory(is_staff=is_staff)
    charge_wallet(user=user, amount=500_000)
    return user


@pytest.fixture
def shopper(shop):
    return _member(is_staff=False)


@pytest.fixture
def staff(shop):
    return _member(is_staff=True)


schema = _load_schema()
bounded = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def _call(case, user=None) -> None:
    # Issued before every case: DELETE /auth/token may have revoked the previous one.
    headers = {} if user is None else {"Authorization": f"Token {issue_token(user=user).key}"}
    case.call_and_validate(headers=headers, checks=CHECKS)


@schema.parametrize()
@bounded
def test_as_anonymous_client(case, shop):
    _call(case)


@schema.parametrize()
@bounded
def test_as_shopper(case, shopper):
    _call(case, shopper)


@schema.parametrize()
@bounded
def test_as_staff(case, staff):
    _call(case, staff)


def test_the_schema_lists_every_operation():
    """The three tests above run once per operation: a schema that lost its operations would pass them vacuously."""
    operations = {(operation.ok().method.upper(), operation.ok().path) for operation in schema.get_all_operations()}
    assert len(operations) >= 27
    assert {("POST", "/api/v1/orders"), ("PATCH", "/api/v1/cart/items/{item_id}"), ("POST", "/api/v1/staff/coupons")} <= operations
