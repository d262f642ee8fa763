"""Middleware of our own."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import get_resolver, get_urlconf


def _not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    handler = get_resolver(get_urlconf()).resolve_error_handler(404)
    return handler(request, exception=exception)


class NotFoundPageMiddleware:
    """With DEBUG on (the default of `make run`, which is how people try the
    product) Django answers a 404 with its technical page: every URL pattern of
    the site, and a view's internal message. Answer with the product's 404 page
    (handler404) there too; the terminal still logs the missing path.

    Two ways a 404 arises: no URL pattern matched (Django answers before any
    view runs, so `request.resolver_match` stays None), or a view raised
    Http404 (seen here in process_exception). A view that returns its own 404
    response (the API's JSON) is left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None
        ):
            return _not_found(request, Http404(request.path))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if settings.DEBUG and isinstance(exception, Http404):
            return _not_found(request, exception)
        return None
