"""The OpenAPI schema says what the API answers, errors included.

Every operation documents the errors any request can meet (400 for a bad
field or query parameter, 401/403 for who may call it, 404 where a path names
a row, 429 when throttled); a view adds its own (409) with @extend_schema.
Write serializers that refuse unknown fields (alignment.inputs.StrictFieldsMixin)
say so with `additionalProperties: false`.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from alignment.inputs import StrictFieldsMixin


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    """Documented as a free object: its keys are the request's own field names."""


def _field_errors_schema(auto_schema, direction):
    return {
        "type": "object",
        "description": "Each key names a field (a query parameter, a body field, "
        "`rules[2].points`) with its messages; `detail` or `non_field_errors` when the "
        "request as a whole was refused.",
        "additionalProperties": {},
    }


ERRORS = [
    ("400", FieldErrorsSerializer, "A field or query parameter was refused (named in the body)."),
    ("401", ErrorSerializer, "No credentials, or a token that expired or was revoked."),
    ("403", ErrorSerializer, "Your role, or your relation to this row, does not allow it."),
    ("429", ErrorSerializer, "Too many requests; the Retry-After header says when to come back."),
]
NOT_FOUND = ("404", ErrorSerializer, "No such row (or none you may see), or a stale page cursor.")
UNSUPPORTED = ("415", ErrorSerializer, "The body is not JSON (or a form).")


class AlignmentAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = [*ERRORS, NOT_FOUND]
        if self.method in ("POST", "PUT", "PATCH"):
            errors.append(UNSUPPORTED)
        for code, serializer, description in errors:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(serializer, description), code, direction=direction
                )
        return responses

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if isinstance(field, serializers.TimeField):
            # JSON Schema's "time" format demands an offset; ours are wall-clock times.
            return {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"}
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        if isinstance(serializer, FieldErrorsSerializer):
            return _field_errors_schema(self, direction)
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictFieldsMixin):
            schema["additionalProperties"] = False
        return schema


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "alignment.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Token"
        )


# --- the webhooks section (OpenAPI 3.1): every event an endpoint may receive ------------------

_SIGNED = [
    ("webhook-id", "The event's id (msg_…): the same on every retry; drop what you have seen."),
    ("webhook-timestamp", "Seconds since the epoch when this attempt was signed."),
    ("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, "
     "one per secret in use (two during a rotation)."),
]  # fmt: skip


def _json_type(value) -> dict:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": ["integer", "null"]}
    if isinstance(value, dict):
        return {"type": "object"}
    if value is None:
        return {"type": ["integer", "null"]}
    return {"type": ["string", "null"]}


def add_webhooks(result, generator, request, public):
    """Postprocessing hook: the event catalogue (alignment.outbox) as `webhooks`, a JSON
    example per event, one body schema per family of events."""
    from alignment import outbox

    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    hooks = {}
    for family in outbox.families():
        name = f"Webhook{family.prefix.title()}Event"
        data = {
            key: _json_type(value)
            for key, value in outbox.example(f"{family.prefix}.x")["data"].items()
        }
        schemas[name] = {
            "type": "object",
            "description": family.description,
            "required": ["type", "timestamp", "data"],
            "properties": {
                "type": {"type": "string", "enum": sorted(family.types())},
                "timestamp": {"type": "string", "format": "date-time"},
                "data": {"type": "object", "properties": data},
            },
        }
        for event_type, label in family.types().items():
            hooks[event_type] = {
                "post": {
                    "summary": label,
                    "description": f"{family.description} Sent to each endpoint subscribed to "
                    f"`{event_type}`; answer 2xx, or it is tried again with backoff.",
                    "parameters": [
                        {
                            "name": header,
                            "in": "header",
                            "required": True,
                            "description": text,
                            "schema": {"type": "string"},
                        }
                        for header, text in _SIGNED
                    ],  # fmt: skip
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{name}"},
                                "example": outbox.example(event_type),
                            }
                        },
                    },
                    "responses": {"2XX": {"description": "Received."}},
                }
            }
    result["webhooks"] = hooks
    _any_value_once(result)
    return result


def _any_value_once(node) -> None:
    """Under 3.1 a nullable free field comes out as `oneOf: [{}, {type: null}]`, which no
    value satisfies only once (null matches both): `{}` already takes null."""
    if isinstance(node, dict):
        choices = node.get("oneOf")
        if isinstance(choices, list) and {} in choices:
            del node["oneOf"]
        for value in node.values():
            _any_value_once(value)
    elif isinstance(node, list):
        for value in node:
            _any_value_once(value)
