"""/metrics answers the monitoring system only (issue 11, defect 13; API.md, Operations)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

OUTSIDER = "203.0.113.9"


@pytest.fixture
def access(settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    settings.METRICS_ALLOWED_IPS = ["10.1.2.3", "192.168.50.0/24"]
    return settings


def _is_prometheus_text(response) -> bool:
    return response.status_code == 200 and "django_http_requests_total_by_method_total" in response.content.decode()


def test_anyone_else_gets_403(access):
    response = Client(REMOTE_ADDR=OUTSIDER).get("/metrics")
    assert response.status_code == 403
    assert "django_http" not in response.content.decode()


def test_the_bearer_token_opens_it(access):
    assert _is_prometheus_text(Client(REMOTE_ADDR=OUTSIDER).get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789"))


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Token scrape-token-0123456789", "Bearer ", "scrape-token-0123456789"])
def test_a_wrong_or_malformed_token_gets_403(access, header):
    assert Client(REMOTE_ADDR=OUTSIDER).get("/metrics", HTTP_AUTHORIZATION=header).status_code == 403


def test_an_empty_token_setting_opens_nothing(access):
    access.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR=OUTSIDER).get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.50.77"])
def test_an_allowed_address_or_network_opens_it(access, address):
    assert _is_prometheus_text(Client(REMOTE_ADDR=address).get("/metrics"))


def test_a_forged_x_forwarded_for_does_not_count_as_an_allowed_address(access):
    assert Client(REMOTE_ADDR=OUTSIDER, HTTP_X_FORWARDED_FOR="10.1.2.3").get("/metrics").status_code == 403


def test_behind_a_trusted_proxy_the_forwarded_client_is_checked(access):
    access.REST_FRAMEWORK = {**access.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert _is_prometheus_text(Client(REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="10.1.2.3").get("/metrics"))
    assert Client(REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR=OUTSIDER).get("/metrics").status_code == 403


def test_nobody_by_default():
    from config.settings.components import security

    assert security.METRICS_TOKEN == "" and security.METRICS_ALLOWED_IPS == []
