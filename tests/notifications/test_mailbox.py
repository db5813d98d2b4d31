"""EMAIL_URL settings, and the development mailbox (/dev/mailbox/) that shows what the file backend wrote."""

import re

import pytest

from apps.orders import services
from config.settings.components import BASE_DIR
from config.settings.components.email import email_settings
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import fund


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:1025", {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": 1025}),
        (
            "smtp+tls://mailer:p%40ss@mail.example.com:587",
            {"EMAIL_HOST": "mail.example.com", "EMAIL_PORT": 587, "EMAIL_HOST_USER": "mailer", "EMAIL_HOST_PASSWORD": "p@ss", "EMAIL_USE_TLS": True},
        ),
        ("smtp+ssl://mail.example.com:465", {"EMAIL_USE_SSL": True, "EMAIL_USE_TLS": False, "EMAIL_PORT": 465}),
        ("filemail:///var/mail", {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(BASE_DIR / "var/mail")}),
        ("filemail:////tmp/flashcart-mail", {"EMAIL_FILE_PATH": "/tmp/flashcart-mail"}),
        ("consolemail://", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend", "EMAIL_FILE_PATH": None}),
    ],
)
def test_email_url_sets_the_email_settings(url, expected):
    configured = email_settings(url)

    assert {name: configured[name] for name in expected} == expected


@pytest.fixture
def file_mailbox(settings, tmp_path):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    settings.SITE_URL = "http://127.0.0.1:8000"
    return tmp_path / "mail"


@pytest.mark.django_db(transaction=True)
def test_the_mailbox_lists_the_mails_written_to_files_and_shows_their_html(client, file_mailbox):
    user = UserFactory(email="grace@example.com")
    fund(user, 10_000)
    orders = [services.place_order(user=user, lines=[services.OrderLine(ProductFactory(name=f"Gadget {n}").pk, 1)]) for n in range(2)]
    services.cancel_order(user=user, order_id=orders[0].pk)

    page = client.get("/dev/mailbox/")

    assert page.status_code == 200
    html = page.content.decode()
    subjects = re.findall(r'<td data-label="Subject">([^<]*)</td>', html)
    assert subjects == [
        f"Your Flashcart order #{orders[0].pk} is cancelled",
        f"Your Flashcart order #{orders[1].pk} is confirmed",
        f"Your Flashcart order #{orders[0].pk} is confirmed",
    ]  # newest first
    assert html.count("grace@example.com") == 3
    assert "1 x Gadget 1 at" in html

    link = re.findall(r'href="(/dev/mailbox/[^"]+)"', html)[0]
    preview = client.get(link)
    assert preview.status_code == 200
    assert preview["Content-Type"] == "text/html; charset=utf-8"
    assert f'href="http://127.0.0.1:8000/orders/{orders[0].pk}/"' in preview.content.decode()
    policy = preview["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "script-src" not in policy


@pytest.mark.django_db
def test_the_mailbox_is_there_only_with_debug_on_and_reads_only_its_own_files(client, file_mailbox, settings):
    file_mailbox.mkdir()
    (file_mailbox.parent / "secret.log").write_text("not a mail of the mailbox")

    assert client.get("/dev/mailbox/").status_code == 200
    assert client.get("/dev/mailbox/nothing.log/0/").status_code == 404
    assert client.get("/dev/mailbox/..%2Fsecret.log/0/").status_code == 404

    settings.DEBUG = False
    assert client.get("/dev/mailbox/").status_code == 404


@pytest.mark.django_db
def test_the_mailbox_says_where_mail_goes_when_it_is_not_written_to_files(client, settings):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

    page = client.get("/dev/mailbox/")

    assert page.status_code == 200
    assert "django.core.mail.backends.smtp.EmailBackend" in page.content.decode()
    assert "EMAIL_URL=filemail:///var/mail" in page.content.decode()
