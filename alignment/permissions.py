"""Role checks for views and API endpoints, by capability (see alignment.roles)."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from alignment.roles import perm


def capability_required(codename: str):
    """A signed-in person without the capability gets 403, not a login loop."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(perm(codename)):
                raise PermissionDenied(f"Your role may not {codename.replace('_', ' ')}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def HasCapability(codename: str) -> type[BasePermission]:  # noqa: N802 - reads as a class
    class _HasCapability(BasePermission):
        message = f"Your role may not {codename.replace('_', ' ')}."

        def has_permission(self, request, view):
            return bool(request.user and request.user.has_perm(perm(codename)))

    _HasCapability.__name__ = f"Has_{codename}"
    return _HasCapability
