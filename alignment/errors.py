"""What a refused request is, and the one place it becomes an HTTP answer.

Services say what went wrong in the words of the business and know nothing of
HTTP. Three kinds of refusal cover them all, and every app's own exceptions
subclass these (alignment imports no app, so the bases live here):

    Conflict          409  the request was fine, but the thing has moved on or
                           does not allow it now (a transition the lead's stage
                           does not allow, a lead that changed meanwhile, a
                           guard that refused, a version someone signed first)
    PermissionDenied  403  not this person (Django's)
    ValidationError   400  bad input, by field (Django's)

`api_exception_handler` answers them in the API (REST_FRAMEWORK's
EXCEPTION_HANDLER); `attempt` gives browser views the same answer to render.
Anything else is a bug and stays a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

T = TypeVar("T")


class Conflict(Exception):
    """The request was fine, but the state it acts on does not allow it now (409)."""

    def payload(self) -> dict[str, Any]:
        """The JSON body of the 409: `detail`, and what a subclass knows more."""
        return {"detail": str(self)}


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """A ValidationError by field; one not tied to a field under non_field_errors."""
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"non_field_errors": error.messages}


@dataclass(frozen=True)
class Refusal:
    """A refused request as a browser view renders it."""

    status: int
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)  # 400: by field


def refusal_of(error: Exception) -> Refusal | None:
    """The refusal an exception means, or None when it is not a refusal (a bug)."""
    if isinstance(error, Conflict):
        return Refusal(409, str(error))
    if isinstance(error, PermissionDenied):
        return Refusal(403, str(error) or "Not allowed.")
    if isinstance(error, ValidationError):
        errors = field_errors(error)
        return Refusal(400, "; ".join(m for messages in errors.values() for m in messages), errors)
    return None


def attempt(call: Callable[[], T]) -> tuple[T | None, Refusal | None]:
    """Run one service call for a browser view: (its result, None), or (None, the refusal).

    Only refusals are caught; any other exception is a bug and propagates.
    """
    try:
        return call(), None
    except (Conflict, PermissionDenied, ValidationError) as error:
        return None, refusal_of(error)


def api_exception_handler(error: Exception, context: dict) -> Response | None:
    """DRF's handler, with the services' refusals answered as documented."""
    if isinstance(error, Conflict):
        return Response(error.payload(), status=409)
    if isinstance(error, PermissionDenied):
        # DRF would answer its generic sentence; the service's says why.
        return Response({"detail": str(error) or "Not allowed."}, status=403)
    if isinstance(error, ValidationError):
        return Response(field_errors(error), status=400)
    return drf_exception_handler(error, context)
