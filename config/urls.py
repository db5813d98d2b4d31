from csp.decorators import csp_update
from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core.health import healthz, livez
from apps.core.metrics_access import metrics

# Swagger UI's script, styles and images come from its CDN (drf-spectacular's SWAGGER_UI_DIST).
SWAGGER_UI_SOURCES = {directive: ["https://cdn.jsdelivr.net"] for directive in ("script-src", "style-src", "img-src")}

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
    path("docs", csp_update(SWAGGER_UI_SOURCES)(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"))),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("metrics", metrics, name="prometheus-django-metrics"),
    path("accounts/", include("apps.accounts.urls")),
    path("products/", include("apps.catalog.urls")),
    path("cart/", include("apps.cart.urls")),
    path("", include("apps.orders.urls")),
    path("wallet/", include("apps.wallets.urls")),
    path("coupons/", include("apps.coupons.urls")),
    path("rankings/", include("apps.rankings.urls")),
    path("", include("apps.storefront.urls")),
]

# Development only: the app is installed by local (and test) settings, never by production.
if apps.is_installed("apps.devtools"):
    urlpatterns.append(path("dev/", include("apps.devtools.urls")))

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
