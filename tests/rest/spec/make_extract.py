"""Rebuild ``esignature-extract.json`` from DocuSign's eSignature OpenAPI file (maintainers only).

Usage (from the project root)::

    python tests/rest/spec/make_extract.py SPEC.json > tests/rest/spec/esignature-extract.json

where ``SPEC.json`` is ``esignature.rest.swagger-v2.1.json`` from
https://github.com/docusign/OpenAPI-Specifications (or a subset of it holding the operations
below). The extract keeps only what the REST client and the fake server use: the operations
in ``OPERATIONS`` (parameters without their prose) and the definitions in ``DEFINITIONS``
(property names and types). A ``$ref`` to a definition left out becomes
``{"type": "object", "x-reduced": "<name>"}``: the field is known, its inside is not checked.
"""

from __future__ import annotations

import json
import sys
from typing import Any

ACCOUNT = "/v2.1/accounts/{accountId}"
OPERATIONS = [
    ("get", ACCOUNT + "/envelopes"),
    ("get", ACCOUNT + "/envelopes/{envelopeId}"),
    ("get", ACCOUNT + "/envelopes/{envelopeId}/recipients"),
    ("get", ACCOUNT + "/envelopes/{envelopeId}/documents"),
    ("get", ACCOUNT + "/envelopes/{envelopeId}/documents/{documentId}"),
    ("get", ACCOUNT + "/envelopes/{envelopeId}/form_data"),
    ("get", ACCOUNT + "/connect"),
    ("get", ACCOUNT + "/connect/failures"),
    ("put", ACCOUNT + "/connect/envelopes/retry_queue"),
]
DEFINITIONS = [
    "carbonCopy",
    "connectConfigResults",
    "connectCustomConfiguration",
    "connectEventData",
    "connectFailureFilter",
    "connectFailureResult",
    "connectFailureResults",
    "connectLog",
    "connectLogs",
    "customFields",
    "envelope",
    "envelopeDocument",
    "envelopeDocumentsResult",
    "envelopeFormData",
    "envelopesInformation",
    "errorDetails",
    "formDataItem",
    "listCustomField",
    "recipientFormData",
    "recipients",
    "signer",
    "textCustomField",
    "userInfo",
]
_SCHEMA_KEYS = ("type", "format", "enum", "items", "$ref")


def reduce_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A property or response schema without prose; refs outside the extract stubbed."""
    ref = schema.get("$ref")
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        return {"$ref": ref} if name in DEFINITIONS else {"type": "object", "x-reduced": name}
    kept = {key: schema[key] for key in _SCHEMA_KEYS if key in schema}
    if "items" in kept:
        kept["items"] = reduce_schema(kept["items"])
    return kept


def reduce_operation(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation with its ids, parameters and response schemas."""
    parameters = [
        {key: p[key] for key in ("name", "in", "required", "type") if key in p}
        | ({"schema": reduce_schema(p["schema"])} if "schema" in p else {})
        for p in operation.get("parameters", [])
    ]
    responses = {
        code: {"description": r.get("description", "")}
        | ({"schema": reduce_schema(r["schema"])} if "schema" in r else {})
        for code, r in operation["responses"].items()
    }
    names = ("operationId", "summary", "produces", "x-ds-service", "x-ds-methodname")
    return {key: operation[key] for key in names if key in operation} | {
        "parameters": parameters,
        "responses": responses,
    }


def reduce_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition's property names and types."""
    properties = definition.get("properties", {})
    return {
        "type": definition.get("type", "object"),
        "properties": {name: reduce_schema(prop) for name, prop in properties.items()},
    }


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    """The reduced Swagger 2.0 document."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path in OPERATIONS:
        paths.setdefault(path, {})[method] = reduce_operation(spec["paths"][path][method])
    return {
        "swagger": spec["swagger"],
        "info": spec["info"]
        | {
            "x-extract": "reduced by tests/rest/spec/make_extract.py; see README.md",
        },
        "host": spec["host"],
        "basePath": spec["basePath"],
        "paths": paths,
        "definitions": {name: reduce_definition(spec["definitions"][name]) for name in DEFINITIONS},
    }


def main(argv: list[str]) -> int:
    """Read the spec named on the command line, print the extract."""
    with open(argv[1], encoding="utf-8") as source:
        spec = json.load(source)
    json.dump(extract(spec), sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
