"""Django's error handlers, answering JSON under /api/.

An integration reads `{"detail": ...}` whatever went wrong; only people get
the HTML pages (templates/404.html and friends). DRF already answers JSON for
errors raised inside its views; these cover the rest: an unknown /api/ URL, a
request Django refuses before any view (bad Host, too many fields), and an
unexpected exception in production.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _for_people(request: HttpRequest, status: int, template: str, message: str) -> HttpResponse:
    """A full page for a person who followed a link; for an htmx request (a panel,
    a form swapped in place) a line of plain text, which static/js/app.js shows
    inside the form or panel that asked, rather than a whole page inside a <div>."""
    if getattr(request, "htmx", False):
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return render(request, template, {"message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": str(exception) or "Not allowed."}, status=403)
    # Our PermissionDenied messages are written for people ("Your role may not arbitrate.").
    return _for_people(
        request, 403, "403.html", str(exception) or "Your role does not give access to this."
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    # Not the exception's text: "No Lead matches the given query" names our models.
    return _for_people(request, 404, "404.html", "There is nothing at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Server error: it is logged; try again later."}, status=500)
    return defaults.server_error(request)
