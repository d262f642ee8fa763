"""Small helpers for views."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def page_url(request: HttpRequest) -> str:
    """The page the person is looking at, for the `next` field of the forms on it.

    Not simply `request.get_full_path()`: a form re-rendered by its own POST (an
    htmx swap, or a rejected plain post) would then send people back to the POST
    address, and following it is a GET on a POST-only URL (405). An htmx request
    says which page it came from (HX-Current-URL); a plain post carries the `next`
    its form was rendered with. Empty when neither is known (the view then picks).
    """
    htmx = getattr(request, "htmx", None)
    if htmx:
        return htmx.current_url_abs_path or ""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    posted = request.POST.get("next", "")
    if posted and url_has_allowed_host_and_scheme(
        posted, {request.get_host()}, require_https=request.is_secure()
    ):
        return posted
    return ""
