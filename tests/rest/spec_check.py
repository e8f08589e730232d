"""The project's copy of DocuSign's spec extract, and checks of JSON against it.

``spec/esignature-extract.json`` holds the operations the client uses and the definitions
their answers are made of (property names and types; see ``spec/README.md``). The fake
server rejects query parameters the spec does not list, and the drift test walks the fake's
answers with :func:`schema_errors`.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parent / "spec" / "esignature-extract.json"
#: Fields the fake may send although this spec version lacks them, with the reason.
ALLOWED_EXTRAS = {
    ("envelopesInformation", "nextUri"): "in the v2 spec, the 2019 v2.1 spec and the SDK model",
    ("envelopesInformation", "previousUri"): "same as nextUri",
}
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
    "array": list,
    "object": dict,
}


@cache
def spec() -> dict[str, Any]:
    """The spec extract, parsed once."""
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """``(METHOD, /restapi path) -> operation`` for every operation of the extract."""
    found = {}
    for path, methods in spec()["paths"].items():
        for method, operation in methods.items():
            found[(method.upper(), spec()["basePath"] + path)] = operation
    return found


def query_parameters(method: str, path: str) -> frozenset[str]:
    """The query parameters the spec lists for an operation."""
    operation = operations()[(method, path)]
    return frozenset(p["name"] for p in operation["parameters"] if p["in"] == "query")


def response_schema(method: str, path: str) -> dict[str, Any]:
    """The schema of an operation's ``200`` answer."""
    schema: dict[str, Any] = operations()[(method, path)]["responses"]["200"]["schema"]
    return schema


def definition_name(schema: dict[str, Any]) -> str | None:
    """The definition a ``$ref`` schema names."""
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _object_errors(value: Any, name: str, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: {name} must be an object, not {type(value).__name__}"]
    properties = spec()["definitions"][name]["properties"]
    errors = []
    for key, item in value.items():
        if key not in properties:
            if (name, key) not in ALLOWED_EXTRAS:
                errors.append(f"{where}.{key}: not a property of {name}")
            continue
        errors.extend(schema_errors(item, properties[key], f"{where}.{key}"))
    return errors


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` departs from ``schema``: unknown properties, wrong JSON types."""
    name = definition_name(schema)
    if name is not None:
        return _object_errors(value, name, where)
    kind = schema.get("type", "object")
    expected = _JSON_TYPES.get(kind)
    if expected is not None and not isinstance(value, expected):
        return [f"{where}: must be {kind}, not {type(value).__name__}"]
    if kind == "array":
        items = schema.get("items", {})
        return [
            e for i, item in enumerate(value) for e in schema_errors(item, items, f"{where}[{i}]")
        ]
    return []
