from __future__ import annotations

from django.conf import settings
from django.urls import include, path

from tongban.api import api
from tongban.core import views as core_views
from tongban.identity import oidc

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("o/", include((oidc.urlpatterns, "oauth2_provider"))),
    *oidc.root_urlpatterns,
    path("staff/clients/", include("tongban.identity.urls_clients")),
    path("staff/catalog/", include("tongban.portal.urls_catalog_admin")),
    path("staff/basedata/", include("tongban.basedata.urls")),
    path("staff/resources/", include("tongban.resources.urls")),
    path("staff/exchange/", include("tongban.exchange.urls")),
    path("staff/licences/", include("tongban.licences.urls_staff")),
    path("licences/", include("tongban.licences.urls_public")),
    path("wallet/", include("tongban.licences.urls_wallet")),
    path("staff/supervision/", include("tongban.supervision.urls")),
    path("reviews/", include("tongban.reviews.urls")),
    path("staff/dashboards/", include("tongban.dashboards.urls")),
    path("staff/", include("tongban.portal.urls_casework")),
    path("staff/", include("tongban.portal.urls_staff")),
    path("staff/", include("tongban.identity.urls")),
    path("", include("tongban.portal.urls_hall")),
    path("", include("tongban.portal.urls_bundles")),
    path("", include("tongban.portal.urls_appointments")),
    path("", include("tongban.portal.urls_notifications")),
    path("", include("tongban.portal.urls")),
]

if settings.TONGBAN_DEMO_UPSTREAMS:  # the demo's stand-in department systems (exchange/demo_upstream.py)
    urlpatterns.insert(0, path("demo-upstream/", include("tongban.exchange.demo_upstream")))
