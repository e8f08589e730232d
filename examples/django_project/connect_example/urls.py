"""URLs: the admin and two ordinary views (the Connect path is the middleware's)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("echo", views.echo),
    path("admin/", admin.site.urls),
]
