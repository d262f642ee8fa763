"""Django's error handlers, answering JSON under /api/.

An integration reads `{"detail": ...}` whatever went wrong; only people get
the HTML pages (templates/404.html and friends). DRF already answers JSON for
errors raised inside its views; these cover the rest: an unknown /api/ URL, a
request Django refuses before any view (bad Host, too many fields), and an
unexpected exception in production.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": str(exception) or "Not allowed."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse({"detail": "Server error: it is logged; try again later."}, status=500)
    return defaults.server_error(request)
