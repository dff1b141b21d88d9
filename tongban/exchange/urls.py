"""Staff pages of the data-sharing exchange, mounted at /staff/exchange/."""

from __future__ import annotations

from django.urls import path

from tongban.exchange.views import calls, grants, sources

app_name = "exchange"

urlpatterns = [
    path("", grants.overview, name="overview"),
    path("resources/", grants.resource_list, name="resources"),
    path("resources/<int:pk>/apply/", grants.grant_apply, name="apply"),
    path("grants/", grants.grant_list, name="grants"),
    path("grants/<int:pk>/", grants.grant_detail, name="grant_detail"),
    path("grants/<int:pk>/approve/", grants.grant_action, {"action": "approve"}, name="grant_approve"),
    path("grants/<int:pk>/refuse/", grants.grant_action, {"action": "refuse"}, name="grant_refuse"),
    path("grants/<int:pk>/suspend/", grants.grant_action, {"action": "suspend"}, name="grant_suspend"),
    path("grants/<int:pk>/resume/", grants.grant_action, {"action": "resume"}, name="grant_resume"),
    path("grants/<int:pk>/revoke/", grants.grant_action, {"action": "revoke"}, name="grant_revoke"),
    path("calls/", calls.call_list, name="calls"),
    path("calls/<uuid:call_id>/", calls.call_detail, name="call_detail"),
    path("stats/", calls.stats, name="stats"),
    path("stats/recount/", calls.stats_recount, name="stats_recount"),
    path("upstreams/", sources.upstream_list, name="upstreams"),
    path("upstreams/new/", sources.upstream_create, name="upstream_create"),
    path("upstreams/<int:pk>/", sources.upstream_detail, name="upstream_detail"),
    path("sources/", sources.source_list, name="sources"),
    path("sources/<int:pk>/", sources.source_edit, name="source_edit"),
]
