"""Reading Meta's JSON bodies strictly, and making them storable.

Python's parser accepts ``NaN`` and ``Infinity`` and raises RecursionError on
deep nesting; neither is JSON Meta sends, so both are refused like any other
body that is not JSON. PostgreSQL's ``jsonb`` refuses the NUL character that
JSON allows inside strings, so it is replaced before anything is stored.
"""

import json
from typing import Any


class NotJson(ValueError):
    """The bytes are not a JSON document we can use."""


def loads(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise NotJson("The body is nested too deeply.") from None
    except (UnicodeDecodeError, ValueError):
        raise NotJson("The body is not JSON.") from None


def storable(value: Any) -> Any:
    """``value`` with every NUL in its strings (and keys) shown as U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
