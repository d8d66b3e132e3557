"""URLs of the example site."""

from __future__ import annotations

from django.urls import path

from webapp import views

urlpatterns = [
    path("feed/<int:user>/", views.feed),
    path("enqueue/<int:user>/", views.enqueue),
    path("report/", views.report),
]
