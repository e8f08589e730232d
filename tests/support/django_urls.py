"""URLs of the tests' Django project: the admin, ordinary views that read bodies, health."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from connect_mw.adapters.django.health import health_urls


def echo(request: HttpRequest) -> HttpResponse:
    """An ordinary view reading its body (Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` applies)."""
    return HttpResponse(b"echo:" + request.body, content_type="application/octet-stream")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("echo", csrf_exempt(echo)),
    path("protected", echo),  # CSRF-protected
    path("", include("connect_mw.adapters.django.health")),  # /healthz, /readyz
    path("ops/", include(health_urls(timeout=0.2))),
]
