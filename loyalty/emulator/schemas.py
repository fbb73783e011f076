"""Request schemas the Loyalty Engine emulator validates against.

Written out from the components of the same name in the OpenAPI document WLL
publishes with its SDK (``test.json`` in its ``wll-sdk`` repository), with
``$ref``s inlined. Where a fragment is simplified, ``SIMPLIFIED`` says so; a
test compares everything else with that document when WLL_OPENAPI_FILE names a
copy of it.
"""

from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import best_match

EVENT_DEFINITION: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "type": "string",
            "pattern": "^[A-Z]+(_[A-Z]+)*$",
            "minLength": 2,
            "maxLength": 64,
        },
        "subject": {"type": "string", "minLength": 1, "maxLength": 128},
        "executor": {"type": "string", "minLength": 1, "maxLength": 128},
        "payload": {"type": "object"},
        # Unanchored in the spec, and "." is any character: ...:00.000Z passes,
        # ...:00Z and a bare ...:00 do not.
        "occurredAt": {
            "type": "string",
            "pattern": "\\d{4}-[01]\\d-[0-3]\\dT[0-2]\\d:[0-5]\\d:[0-5]\\d.\\d+Z?",
        },
    },
}

HYDRATABLE: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": {"type": "string", "format": "uuid"}},
}

USER_CONSENT_DEFINITION: dict[str, Any] = {
    "type": "object",
    "required": ["type", "checked"],
    "properties": {
        "type": HYDRATABLE,
        "checked": {"type": "boolean"},
        "user": HYDRATABLE,
        "id": {"type": "string", "format": "uuid"},
    },
}


def _text(low: int, high: int) -> dict[str, Any]:
    return {"type": "string", "minLength": low, "maxLength": high}


USER_PROFILE_PATCH: dict[str, Any] = {
    "type": "object",
    "properties": {
        "givenName": _text(1, 64),
        "familyName": _text(1, 64),
        "gender": {"type": "string", "enum": ["FEMALE", "MALE", "OTHER", "UNKNOWN"]},
        "emailAddress": {"type": "string", "format": "email"},
        "birthdate": {
            "type": "string",
            "pattern": (
                "^(19[0-9][0-9]|20[0-3][0-9])-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])$"
            ),
        },
        # Simplified: the spec enumerates about 250 ISO 3166 codes.
        "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "city": _text(1, 256),
        "postcode": _text(1, 128),
        "pictureUrl": {"type": "string", "format": "url"},
        "streetAddress": _text(1, 64),
        "telephoneNumber": {"type": "string"},
        "region": {"type": "string"},
        "attributes": {"type": "object"},
    },
}

USER_PATCH: dict[str, Any] = {
    "type": "object",
    "properties": {
        "profile": USER_PROFILE_PATCH,
        "flags": {},
        "externalIdentifier": {"type": "string", "maxLength": 512},
        # Simplified: venue definitions (name, address, availability, coordinates)
        # are only checked to be objects; the emulator keeps no venues.
        "linkedVenuesDefinitions": {"type": "array", "items": {"type": "object"}},
        "linkedVenues": {"type": "array", "items": HYDRATABLE},
        "consentsDefinition": {"type": "array", "items": USER_CONSENT_DEFINITION},
        "isRestricted": {"type": "boolean"},
    },
}

LIST_QUERY_PARAMS: dict[str, Any] = {
    "type": "object",
    "required": ["order"],
    "properties": {
        "limit": {"type": "number", "minimum": 1, "maximum": 1000},
        "skip": {"type": "number", "minimum": 0, "maximum": 9007199254740991},
        "order": {"type": "string", "enum": ["ASC", "DESC"]},
        "filter": {},
    },
}

# By OpenAPI component name, for the comparison test.
SCHEMAS: dict[str, dict[str, Any]] = {
    "EventDefinition": EVENT_DEFINITION,
    "Hydratable": HYDRATABLE,
    "UserConsentDefinition": USER_CONSENT_DEFINITION,
    "UserProfilePatch": USER_PROFILE_PATCH,
    "UserPatch": USER_PATCH,
    "ListQueryParams": LIST_QUERY_PARAMS,
}
# (component, property) pairs deliberately looser than the reference.
SIMPLIFIED: set[tuple[str, str]] = {
    ("UserProfilePatch", "country"),
    ("UserPatch", "linkedVenuesDefinitions"),
    ("UserPatch", "profile"),  # inherits the country simplification
}


def first_error(schema: dict[str, Any], instance: Any) -> str | None:
    """The most relevant validation error as "field: message", or None."""
    validator = Draft7Validator(schema, format_checker=FormatChecker())
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return None
    field = ".".join(str(part) for part in error.absolute_path) or "body"
    return f"{field}: {error.message}"
