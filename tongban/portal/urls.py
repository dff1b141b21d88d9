from __future__ import annotations

from django.urls import path

from tongban.portal import views, views_catalog

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register, name="register"),
    path("account/", views.profile, name="profile"),
    path("account/phone/", views.phone_change, name="phone_change"),
    path("account/real-name/", views.real_name_check, name="real_name_check"),
    path("account/password/", views.password_change, name="password_change"),
    path("account/agents/", views.agents, name="agents"),
    path("account/agents/<int:link_id>/revoke", views.agent_revoke, name="agent_revoke"),
    path("workbench/", views.workbench, name="workbench"),
    path("services/", views_catalog.service_list, name="service_list"),
    path("services/search/", views_catalog.service_search, name="service_search"),
    path("services/<str:implementation_code>/", views_catalog.service_guide, name="service_guide"),
]
