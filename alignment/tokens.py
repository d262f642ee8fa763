"""API tokens: shown once, stored only as a hash, each with an expiry.

A token is 32 random bytes; the database keeps its SHA-256 digest, so a copy
of the database (a backup, a replica) holds no usable credential. No salt or
slow hash is needed for a secret with that much entropy, and the digest is the
lookup key: authentication is one indexed query, no loop over candidates.
Revoking keeps the row (who had which token, when it stopped) for the audit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from alignment import audit, clock
from alignment.models import ApiToken
from alignment.roles import perm

PREFIX = "aln_"
KEYWORD = b"token"
LIFETIMES = (30, 90, 365)  # days a person may choose from; none lives forever
DEFAULT_DAYS = 90


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user, name: str, days: int = DEFAULT_DAYS, by=None) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the secret, which is never stored."""
    by = by or user
    if by != user and not by.has_perm(perm("manage_organisation")):
        raise PermissionDenied("Only an admin may issue a token for someone else.")
    name = (name or "").strip()
    errors = {}
    if not name:
        errors["name"] = ["Name the token after what will use it, e.g. “CRM sync”."]
    elif len(name) > ApiToken._meta.get_field("name").max_length:
        errors["name"] = [f"At most {ApiToken._meta.get_field('name').max_length} characters."]
    if days not in LIFETIMES and not (by.is_superuser and 0 < days <= max(LIFETIMES)):
        errors["days"] = [f"Choose one of {', '.join(map(str, LIFETIMES))} days."]
    if errors:
        raise ValidationError(errors)
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            digest=digest(secret),
            hint=secret[len(PREFIX) : len(PREFIX) + 4],
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        audit.record(
            by=by,
            action="token.create",
            target=token,
            changes={"expires_at": [None, token.expires_at]},
        )
    return token, secret


def token_revoke(*, token: ApiToken, by) -> ApiToken:
    if token.user_id != by.pk and not by.has_perm(perm("manage_organisation")):
        raise PermissionDenied("This is not your token.")
    now = clock.now()
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if revoked:
            audit.record(
                by=by, action="token.revoke", target=token, changes={"revoked_at": [None, now]}
            )
    token.refresh_from_db()
    return token


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <secret>`; a revoked or expired token is a 401."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as: Authorization: Token <token>."
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        token = (
            ApiToken.objects.select_related("user")
            .filter(digest=digest(secret), revoked_at__isnull=True, expires_at__gt=clock.now())
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request):
        return "Token"
