"""Hostile input stops where it enters: the JSON parser, the query string, form fields.

Every view and service below this edge may assume that text has no NUL byte
and no lone surrogate (PostgreSQL refuses the first, UTF-8 cannot encode the
second, so either used to end as a 500 deep inside a view or a renderer), that
numbers are finite and fit a 64-bit column, and that JSON is nested no deeper
than any of our documents. Each refusal is a 400 that names the field.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

# Our deepest document is a definition's rules (object > list > object > value list).
MAX_JSON_DEPTH = 20
MAX_INTEGER = 2**63 - 1
# Far enough from year 1 and year 9999 that converting to UTC or adding a
# business week never leaves what Python's datetime can hold.
EARLIEST = date(1900, 1, 1)
LATEST = date(9000, 12, 31)


class _OutOfRange(str):
    """A number the parser read but no column can hold: reported with its path."""


def _parse_float(text: str) -> float | _OutOfRange:
    value = float(text)
    return value if math.isfinite(value) else _OutOfRange(text)


def _parse_int(text: str) -> int | _OutOfRange:
    value = int(text)
    return value if -MAX_INTEGER <= value <= MAX_INTEGER else _OutOfRange(text)


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None."""
    if "\x00" in value:
        return "Contains a NUL character (\\u0000), which text may not hold."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Contains a lone surrogate (such as \\ud800), which is not a character."
    return None


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _problems(value: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    name = path or "non_field_errors"
    if depth > MAX_JSON_DEPTH:
        yield name, f"Nested deeper than {MAX_JSON_DEPTH} levels."
        return
    if isinstance(value, _OutOfRange):
        yield name, f"The number {value[:40]} is out of range."
    elif isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield name, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key)
            if problem:
                yield name, f"A key: {problem}"
                continue
            yield from _problems(item, _path(path, key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _problems(item, _path(path, index), depth + 1)


def refuse_unsafe_json(data: Any) -> Any:
    """Raise a 400 keyed by the path of each value no column could store."""
    errors: dict[str, list[str]] = {}
    for name, message in _problems(data):
        errors.setdefault(name, []).append(message)
        if len(errors) >= 20:  # enough to fix a client; no need to list a million
            break
    if errors:
        raise ValidationError(errors)
    return data


# The only ways a parsed JSON text holds a NUL or a lone surrogate: the escapes
# \u0000 and \ud800-\udfff (a raw control character in a string is a parse error,
# and decoded UTF-8 holds no surrogate). A text without them needs no walk for those.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abAB]|[dD][c-fC-F])")


_CONTAINERS = (dict, list)


def _deeper_than(data: Any, limit: int) -> bool:
    """Does any object or array sit more than `limit` levels down? Containers only.

    Level by level, each a list comprehension: a bulk request of a thousand leads
    holds some 30,000 values, and a generator per container cost over twice as much."""
    level, depth = [data], 0
    while level:
        if depth > limit:
            return True
        below: list = []
        for value in level:
            items = value.values() if isinstance(value, dict) else value
            below += [item for item in items if isinstance(item, _CONTAINERS)]
        level, depth = below, depth + 1
    return False


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, refusing what the database or the renderer could not take."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        out_of_range = []

        def parse_number(parse):
            def parsed(text):
                value = parse(text)
                if isinstance(value, _OutOfRange):
                    out_of_range.append(value)
                return value

            return parsed

        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(
                text,
                parse_constant=strict_constant,
                parse_float=parse_number(_parse_float),
                parse_int=parse_number(_parse_int),
            )
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.") from None
        except ValueError as exc:  # includes bytes that are not UTF-8
            raise ParseError(f"JSON parse error - {exc}") from None
        if (
            out_of_range
            or _SUSPECT_ESCAPE.search(text)
            or isinstance(data, dict | list)
            and _deeper_than(data, MAX_JSON_DEPTH - 1)
        ):
            # Something to report: the full walk names the path of each value.
            return refuse_unsafe_json(data)
        return data


class StrictFieldsMixin:
    """For every write serializer: a field it does not take is a 400, not silently dropped.

    A client that sends `status` or `number` to a draft believes it set them;
    telling it so is kinder than a 201 that ignored them.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            refuse_unknown_fields(data, writable, read_only=set(self.fields) - writable)
        return super().to_internal_value(data)


def refuse_unknown_fields(data: Mapping, allowed: set[str], read_only: set[str] = frozenset()):
    """400 naming each key of `data` that a write does not take."""
    errors = {
        key: ["This field is read-only." if key in read_only else "Unknown field."]
        for key in data
        if key not in allowed
    }
    if errors:
        raise ValidationError(errors)


def too_long(model, **values: str) -> dict[str, list[str]]:
    """Errors for text longer than its column, keyed by field, for a service to merge.

    Views that pass request.POST straight to a service would otherwise meet the
    column's limit as a DataError (a 500) on PostgreSQL, or store it whole on SQLite.
    """
    errors = {}
    for name, value in values.items():
        limit = model._meta.get_field(name).max_length
        if limit and value and len(value) > limit:
            errors[name] = [f"At most {limit} characters ({len(value)} given)."]
    return errors


# --- the query string and form fields ------------------------------------------------------


def _form_problems(sources) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for source in sources:
        for key, values in source.lists():
            # A bad name cannot name itself in the answer: it is reported as a whole.
            name = "non_field_errors" if text_problem(key) else key
            problem = next(filter(None, map(text_problem, (key, *values))), None)
            if problem:
                errors.setdefault(name, []).append(problem)
    return errors


BROWSER_METHODS = frozenset({"GET", "HEAD", "POST", "OPTIONS"})


class RefuseUnsafeInputMiddleware:
    """A NUL byte in a query parameter or a form field is a 400 naming the field, and
    a page (anything outside /api/) answers only the methods a browser form sends.

    Browser views read request.GET and request.POST directly in many places;
    checking here, once, spares each of them (and each service) the check.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith("/api/")
        if not api and request.method not in BROWSER_METHODS:
            # Pages speak GET and POST (plain forms, htmx posts); a function view
            # with no method decorator would otherwise render itself for a DELETE.
            return HttpResponseNotAllowed(sorted(BROWSER_METHODS))
        sources = [request.GET]
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            sources.append(request.POST)
        return self._refuse(request, sources) or self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Multipart bodies wait until the view is known: a view that sets its own
        # upload handlers (the CSV import limits size that way) is csrf_exempt for
        # that reason, and must not find its body parsed already. Its Django form
        # fields refuse NUL themselves. The API takes JSON only.
        if (
            request.method == "POST"
            and request.content_type == "multipart/form-data"
            and not getattr(view_func, "csrf_exempt", False)
        ):
            return self._refuse(request, [request.POST])
        return None

    @staticmethod
    def _refuse(request: HttpRequest, sources) -> HttpResponse | None:
        errors = _form_problems(sources)
        if not errors:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(errors, status=400)
        return HttpResponseBadRequest(
            "; ".join(f"Field '{name}': {' '.join(msgs)}" for name, msgs in errors.items()),
            content_type="text/plain; charset=utf-8",
        )


# --- filters from the query string -------------------------------------------------------


def query_choice(params, name: str, choices) -> str | None:
    """A filter whose values are an enum: one of `choices`, or absent; else a 400 naming it."""
    value = params.get(name)
    if value in (None, ""):
        return None
    allowed = [str(c) for c in choices]
    if value not in allowed:
        raise ValidationError({name: [f"Must be one of: {', '.join(allowed)}."]})
    return value


# --- dates and times from filters ----------------------------------------------------------


def _in_range(day: date, name: str) -> None:
    if not EARLIEST <= day <= LATEST:
        raise DjangoValidationError(
            {name: [f"Must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}."]}
        )


def query_date(value: str, *, name: str) -> date:
    """A filter's date (YYYY-MM-DD) in the range any calendar arithmetic can take."""
    try:
        day = parse_date(value.strip())
    except ValueError:
        day = None
    if day is None:
        raise DjangoValidationError({name: ["A date as YYYY-MM-DD."]})
    _in_range(day, name)
    return day


def query_datetime(value: str, *, name: str) -> datetime:
    """A filter's ISO 8601 time with its offset, in a range UTC can hold."""
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise DjangoValidationError({name: ["An ISO 8601 time with its offset."]})
    # The date check comes first: astimezone() overflows at the calendar's edges.
    _in_range(moment.date(), name)
    return moment.astimezone(UTC)


class BoundedDateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, refusing times near the calendar's edges instead of overflowing."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                query_datetime(value, name=self.field_name or "value")
            except DjangoValidationError as error:
                raise ValidationError(next(iter(error.message_dict.values()))) from None
        return super().to_internal_value(value)


class BoundedFormDateField(forms.DateField):
    """A form's date, refused near the calendar's edges (a week after 9999-12-25 overflows)."""

    def validate(self, value):
        super().validate(value)
        if value and not EARLIEST <= value <= LATEST:
            raise DjangoValidationError(
                f"Must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
                code="out_of_range",
            )


__all__ = [
    "EARLIEST",
    "LATEST",
    "BoundedDateTimeField",
    "BoundedFormDateField",
    "RefuseUnsafeInputMiddleware",
    "SafeJSONParser",
    "StrictFieldsMixin",
    "query_choice",
    "query_date",
    "query_datetime",
    "refuse_unknown_fields",
    "refuse_unsafe_json",
    "text_problem",
    "too_long",
]
