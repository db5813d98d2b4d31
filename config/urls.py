from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.apps import apps
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from apps.accounts.views import account
from apps.core.health import healthz, livez
from apps.core.metrics_access import metrics

REDOC_SOURCES = {"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]}

api_v1 = [
    path("", include("apps.accounts.api_urls")),
    path("", include("apps.rankings.api_urls")),  # before catalog: products/popular is not a product id
    path("", include("apps.catalog.api_urls")),
    path("", include("apps.wallets.api_urls")),
    path("", include("apps.coupons.api_urls")),
    path("", include("apps.cart.api_urls")),
    path("", include("apps.orders.api_urls")),
    path("", include("apps.payments.api_urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and ReDoc are this site's static files (drf-spectacular-sidecar): no CDN, work offline.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # ReDoc builds its styles at run time (styled-components) and searches in a worker made from a blob:
    # this one page allows inline styles and blob workers, never inline scripts.
    path("redoc", csp_update(REDOC_SOURCES)(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"))),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("metrics", metrics, name="prometheus-django-metrics"),
    path("accounts/", include("apps.accounts.urls")),
    path("account/", account, name="account"),
    path("products/", include("apps.catalog.urls")),
    path("cart/", include("apps.cart.urls")),
    path("", include("apps.orders.urls")),
    path("wallet/", include("apps.wallets.urls")),
    path("coupons/", include("apps.coupons.urls")),
    path("rankings/", include("apps.rankings.urls")),
    path("", include("apps.storefront.urls")),
]

# Uploaded pictures: served by Django with DEBUG on (`make run`), by nginx from the media volume otherwise.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Development only: the app is installed by local (and test) settings, never by production.
if apps.is_installed("apps.devtools"):
    urlpatterns.append(path("dev/", include("apps.devtools.urls")))

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
