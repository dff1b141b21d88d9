"""The message centre of citizens, enterprises and staff."""

from __future__ import annotations

from django.urls import path

from tongban.portal import views_notifications

app_name = "notices"

urlpatterns = [
    path("messages/", views_notifications.message_list, name="list"),
    path("messages/read-all", views_notifications.messages_read_all, name="read_all"),
    path("messages/<int:message_id>/read", views_notifications.message_read, name="read"),
]
