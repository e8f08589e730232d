"""An ordinary view: it reads its own request body, with Django's usual limits."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt


def home(request: HttpRequest) -> HttpResponse:
    """A page to check the server answers."""
    return HttpResponse("hello from the Django project\n", content_type="text/plain")


@csrf_exempt
def echo(request: HttpRequest) -> HttpResponse:
    """Answer with the size and bytes of the request body."""
    body = request.body
    return HttpResponse(b"%d bytes: %s" % (len(body), body), content_type="text/plain")
