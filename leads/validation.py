"""Cleaning of incoming lead data, shared by the API (single and bulk), CSV import and forms.

Plain Python rather than a DRF serializer per item: the bulk endpoint cleans a
thousand items per request, and this is where that time goes.
"""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

CONTACT_FIELDS = {
    # name: max length
    "email": 254,
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "title": 200,
    "country": 100,
    "phone": 50,
}
KEY_FIELDS = {"source": 100, "external_id": 255}
MAX_ATTRIBUTES = 200
MAX_ATTRIBUTE_LENGTH = 2000
PLACEHOLDERS = {"", "select", "n/a", "null", "none", "-"}
_PHONE = re.compile(r"^[0-9+()./\- x]{3,50}$", re.IGNORECASE)
# Built once: the bulk endpoint calls clean_lead_input a thousand times per request.
_ALLOWED = frozenset(CONTACT_FIELDS) | frozenset(KEY_FIELDS) | {"attributes", "campaign"}
_TEXT_FIELDS = tuple({**KEY_FIELDS, **CONTACT_FIELDS}.items())
# PostgreSQL cannot store a NUL character in text: refused here, by field, so a
# CSV row holding one is refused with its line instead of failing its chunk.
NUL = "\x00"
NUL_ERROR = "Contains a NUL character (\\u0000), which cannot be stored."


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError("must be text, not true/false")
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise ValueError("must be text")
    return value.strip()


def clean_lead_input(raw: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Return (clean data, errors by field). Unknown top-level keys are errors.

    Clean data has source, external_id, the contact fields (blank when absent),
    attributes (dict of str -> str/number/bool) and campaign (id or None).
    """
    if not isinstance(raw, dict):
        return {}, {"non_field_errors": ["Each lead must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in _ALLOWED:
            errors.setdefault(key, []).append("Unknown field. Put free data under 'attributes'.")
    data = _clean_texts(raw, errors)
    data["attributes"] = _clean_attributes(raw.get("attributes", {}), errors)
    campaign = raw.get("campaign")
    if campaign in (None, ""):
        data["campaign"] = None
    elif isinstance(campaign, int) and not isinstance(campaign, bool) and campaign > 0:
        data["campaign"] = campaign
    elif isinstance(campaign, str) and campaign.isdigit():
        data["campaign"] = int(campaign)
    else:
        errors.setdefault("campaign", []).append("Must be a campaign id.")
    return data, errors


def _clean_texts(raw: dict, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The key and contact fields: text, stripped, within their lengths."""
    data: dict[str, Any] = {}
    for name, limit in _TEXT_FIELDS:
        value = raw.get(name)
        if type(value) is str:  # the common case, without _text's checks
            value = value.strip()
        else:
            try:
                value = _text(value)
            except ValueError as exc:
                errors.setdefault(name, []).append(f"{name} {exc}.")
                continue
        if len(value) > limit:
            errors.setdefault(name, []).append(f"At most {limit} characters ({len(value)} given).")
        if NUL in value:
            errors.setdefault(name, []).append(NUL_ERROR)
        data[name] = value
    if not data.get("source") and "source" not in errors:
        errors.setdefault("source", []).append("This field is required.")
    email = data.get("email", "")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.setdefault("email", []).append(f"'{email}' is not a valid email address.")
        data["email"] = email.lower()
    phone = data.get("phone", "")
    if phone and not _PHONE.match(phone):
        errors.setdefault("phone", []).append("Digits, spaces and + ( ) - . only.")
    return data


def _clean_attributes(attributes: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
    """Free names to text, numbers or true/false; at most MAX_ATTRIBUTES of them."""
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        errors.setdefault("attributes", []).append("Must be an object of names to values.")
        return {}
    if len(attributes) > MAX_ATTRIBUTES:
        errors.setdefault("attributes", []).append(f"At most {MAX_ATTRIBUTES} attributes.")
    clean = _all_text(attributes)
    return clean if clean is not None else _clean_each(attributes, errors)


def _clean_each(attributes: dict, errors: dict[str, list[str]]) -> dict[str, Any]:
    """Attribute by attribute, each refusal under its name."""
    clean = {}
    # Text to text first, as nearly every attribute is: the fewest checks for it.
    for key, value in attributes.items():
        if type(key) is not str:
            key = str(key)
        if type(value) is str:
            if NUL in key or NUL in value:
                errors.setdefault(f"attributes.{key.replace(NUL, '')}", []).append(NUL_ERROR)
                continue
            value = value.strip()
            if len(value) > MAX_ATTRIBUTE_LENGTH:
                errors.setdefault(f"attributes.{key}", []).append(
                    f"At most {MAX_ATTRIBUTE_LENGTH} characters."
                )
                continue
        elif NUL in key or (isinstance(value, str) and NUL in value):
            errors.setdefault(f"attributes.{key.replace(NUL, '')}", []).append(NUL_ERROR)
            continue
        elif not isinstance(value, str | int | float | bool) and value is not None:
            errors.setdefault(f"attributes.{key}", []).append(
                "Must be text, a number or true/false."
            )
            continue
        clean[key.strip()[:200]] = value
    return clean


def _all_text(attributes: dict) -> dict[str, str] | None:
    """The clean attributes if every name and value is text with nothing to refuse
    (what a form or a CRM sends), checked a column at a time; else None, and
    _clean_each names what is wrong. The same result as _clean_each."""
    names, values = list(attributes), list(attributes.values())
    if set(map(type, names)) - {str} or set(map(type, values)) - {str}:
        return None
    if NUL in "".join(names) or NUL in "".join(values):
        return None
    values = list(map(str.strip, values))
    if values and max(map(len, values)) > MAX_ATTRIBUTE_LENGTH:
        return None
    return dict(zip([name.strip()[:200] for name in names], values, strict=True))
