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
