"""Who is asking: the client's address behind a TLS proxy, and the API's rate limits.

Off by default (ALIGNMENT_PROXY_COUNT=0): the address is REMOTE_ADDR, because
a header anyone can send must not decide whose failures are counted. Behind N
proxies that each append to X-Forwarded-For, the client is the Nth address
from the right (the leftmost ones are whatever the client wrote). django-axes
(login throttling) and the API throttles ask the same function.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.ALIGNMENT_PROXY_COUNT
    if not count:
        return remote
    hops = [h.strip() for h in request.META.get(settings.ALIGNMENT_PROXY_HEADER, "").split(",")]
    hops = [h for h in hops if h]
    if len(hops) < count:
        return remote
    candidate = hops[-count]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    return candidate


class _Throttle:
    def get_ident(self, request) -> str:
        return client_ip(request)

    def get_rate(self):
        # Read when asked, not when the class was imported, so settings can change it.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class AnonymousThrottle(_Throttle, AnonRateThrottle):
    """Per client address, for requests without credentials (probing, sign-in attempts)."""


class PersonThrottle(_Throttle, UserRateThrottle):
    """Per person (token or session): a runaway integration slows down, others do not."""
