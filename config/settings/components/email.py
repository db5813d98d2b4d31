"""E-mail: the shoppers' order mails (apps/notifications) and password resets, through Django's e-mail framework.

EMAIL_URL says where mail goes (django-environ): smtp://user:password@host:587 (smtp+tls:// for
STARTTLS, smtp+ssl:// for implicit TLS), consolemail://, filemail:///var/mail (a path relative to the
project, or filemail:////abs/path), memorymail://. Production defaults to an SMTP server on
localhost; local settings write files into var/mail/ (listed at /dev/mailbox/).
"""

from config.settings.components import BASE_DIR, env

DEFAULT_EMAIL_URL = "smtp://localhost:25"


def email_settings(url: str) -> dict:
    """The EMAIL_* settings an EMAIL_URL stands for (config/settings/local.py and test.py pick other defaults)."""
    parsed = env.email_url_config(url)
    file_path = parsed["EMAIL_FILE_PATH"]
    return {
        "EMAIL_BACKEND": parsed["EMAIL_BACKEND"],
        "EMAIL_HOST": parsed["EMAIL_HOST"] or "localhost",
        "EMAIL_PORT": parsed["EMAIL_PORT"] or 25,
        "EMAIL_HOST_USER": parsed["EMAIL_HOST_USER"] or "",
        "EMAIL_HOST_PASSWORD": parsed["EMAIL_HOST_PASSWORD"] or "",
        "EMAIL_USE_TLS": bool(parsed.get("EMAIL_USE_TLS", False)),
        "EMAIL_USE_SSL": bool(parsed.get("EMAIL_USE_SSL", False)),
        "EMAIL_FILE_PATH": str(BASE_DIR / file_path) if file_path else None,
    }


_configured = email_settings(env("EMAIL_URL", default=DEFAULT_EMAIL_URL))
EMAIL_BACKEND = _configured["EMAIL_BACKEND"]
EMAIL_HOST = _configured["EMAIL_HOST"]
EMAIL_PORT = _configured["EMAIL_PORT"]
EMAIL_HOST_USER = _configured["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _configured["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _configured["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _configured["EMAIL_USE_SSL"]
EMAIL_FILE_PATH = _configured["EMAIL_FILE_PATH"]
# Seconds an SMTP connection may block: a hung server fails the send, which the e-mail consumer retries later.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Flashcart <orders@flashcart.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
