"""The holder's licence wallet, mounted at /wallet/."""

from __future__ import annotations

from django.urls import path

from tongban.licences import views_wallet

app_name = "licences_wallet"

urlpatterns = [
    path("", views_wallet.wallet, name="list"),
    path("<int:pk>/", views_wallet.detail, name="detail"),
    path("<int:pk>/download/pdf/", views_wallet.download, {"fmt": "pdf"}, name="pdf"),
    path("<int:pk>/download/json/", views_wallet.download, {"fmt": "json"}, name="json"),
    path("<int:pk>/authorise/", views_wallet.authorise, name="authorise"),
    path("<int:pk>/authorisations/<int:auth_pk>/", views_wallet.authorised, name="authorised"),
    path("<int:pk>/authorisations/<int:auth_pk>/withdraw/", views_wallet.withdraw, name="withdraw"),
]
