"""Secrets, hosts, passwords and who counts as the client."""

from csp.constants import NONE, SELF

from config.settings.components import env

# Required by production settings; local and test settings give a development default.
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Trusted reverse proxies in front of the app (1 behind docker compose's nginx): throttles then count
# per client address from X-Forwarded-For instead of per proxy. 0 (unset): X-Forwarded-For is
# ignored, since anyone can send it.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# GET /metrics answers the monitoring system only: this bearer token, or a client address in the
# allow-list (addresses or networks). Both empty: nobody.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])

# Content-Security-Policy (django-csp): scripts, styles and everything else from this site only, no
# inline code. The API docs (Swagger UI and ReDoc) are static files of this site too (drf-spectacular-sidecar).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
