"""The fake and the client against the project's copy of DocuSign's spec extract.

If the fake served a route, a parameter or a field DocuSign's spec does not have (or a
field of the wrong JSON type), or the client sent one, these tests fail: the fake cannot
drift from DocuSign's API unnoticed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connect_mw.rest import DocuSignSettings, ESignClient
from connect_mw.rest.jwt import assertion
from connect_mw.rest.operations import status_changes_call

from .fake_data import (
    ACCOUNT_ID,
    FakeDocument,
    envelope_id,
    make_configuration,
    make_envelope,
    make_failure,
)
from .fake_esign import API, API_ROUTES, FakeESign
from .spec_check import operations, query_parameters, response_schema, schema_errors, spec

ACCOUNT = API.replace("{accountId}", ACCOUNT_ID)
ENVELOPE = envelope_id(1)
#: A concrete request for each route: (path after the account, query).
SAMPLES: dict[tuple[str, str], list[tuple[str, dict[str, str]]]] = {
    ("GET", f"{API}/envelopes"): [
        (
            "/envelopes",
            {
                "from_date": "2024-01-01T00:00Z",
                "include": "recipients,custom_fields,documents",
                "count": "1",
                "start_position": "1",
                "order_by": "status_changed",
                "order": "asc",
            },
        ),
        ("/envelopes", {"from_date": "2999-01-01T00:00Z"}),  # empty
    ],
    ("GET", f"{API}/envelopes/{{envelopeId}}"): [
        (f"/envelopes/{ENVELOPE}", {"include": "recipients,custom_fields,documents"}),
    ],
    ("GET", f"{API}/envelopes/{{envelopeId}}/recipients"): [
        (f"/envelopes/{ENVELOPE}/recipients", {})
    ],
    ("GET", f"{API}/envelopes/{{envelopeId}}/documents"): [
        (f"/envelopes/{ENVELOPE}/documents", {})
    ],
    ("GET", f"{API}/envelopes/{{envelopeId}}/documents/{{documentId}}"): [
        (f"/envelopes/{ENVELOPE}/documents/combined", {"certificate": "false"}),
    ],
    ("GET", f"{API}/envelopes/{{envelopeId}}/form_data"): [
        (f"/envelopes/{ENVELOPE}/form_data", {})
    ],
    ("GET", f"{API}/connect"): [("/connect", {})],
    ("GET", f"{API}/connect/failures"): [("/connect/failures", {"from_date": "2024-01-01T00:00Z"})],
    ("PUT", f"{API}/connect/envelopes/retry_queue"): [("/connect/envelopes/retry_queue", {})],
}


def _populate(fake: FakeESign) -> None:
    now = fake.now()
    fake.add(make_envelope(1, "completed", now - timedelta(minutes=3)))
    fake.add(make_envelope(2, "voided", now - timedelta(minutes=2)))
    fake.add(make_envelope(3, "declined", now - timedelta(minutes=1)))
    fake.documents[ENVELOPE] = [
        FakeDocument("1", "Contract.pdf", 1000),
        FakeDocument("certificate", "Summary.pdf", 500, kind="summary"),
    ]
    fake.failures.append(make_failure(1, now - timedelta(hours=1)))
    fake.configurations.append(make_configuration())


def _token(fake: FakeESign, settings: DocuSignSettings, key: rsa.RSAPrivateKey) -> str:
    signed = assertion(settings, key, fake.clock())
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    answer = httpx.post(
        f"{fake.base_url}/oauth/token", data={"grant_type": grant, "assertion": signed}
    )
    token: str = answer.json()["access_token"]
    return token


def _call(
    fake: FakeESign, token: str, method: str, path: str, query: dict[str, str]
) -> httpx.Response:
    body = {"envelopeIds": [ENVELOPE]} if method == "PUT" else None
    return httpx.request(
        method,
        fake.base_url + ACCOUNT + path,
        params=query,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_the_fake_serves_exactly_the_operations_of_the_extract() -> None:
    served = {(method, path) for method, path, _, _ in API_ROUTES}
    assert served == set(operations())
    assert set(SAMPLES) == served
    assert spec()["info"]["version"] == "v2.1" and spec()["basePath"] == "/restapi"


@pytest.mark.parametrize(("method", "path", "definition"), [(m, p, d) for m, p, _, d in API_ROUTES])
def test_each_route_answers_the_definition_the_spec_names(
    method: str, path: str, definition: str
) -> None:
    schema = response_schema(method, path)
    named = schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else schema["type"]
    assert named == definition
    if definition != "file":
        assert definition in spec()["definitions"]


def test_every_answer_of_the_fake_matches_the_spec(
    fake: FakeESign, settings: DocuSignSettings, rsa_key: rsa.RSAPrivateKey
) -> None:
    _populate(fake)
    token = _token(fake, settings, rsa_key)
    errors: list[str] = []
    for (method, template), samples in SAMPLES.items():
        for path, query in samples:
            answer = _call(fake, token, method, path, query)
            assert answer.status_code == 200, (path, answer.text)
            if response_schema(method, template).get("type") == "file":
                assert answer.headers["content-type"] == "application/pdf"
                assert answer.headers["content-disposition"].startswith("file; filename=")
                continue
            errors += schema_errors(
                answer.json(), response_schema(method, template), f"{method} {path}"
            )
    assert errors == []


def test_the_fake_answers_errors_as_errordetails(
    fake: FakeESign, settings: DocuSignSettings, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = _token(fake, settings, rsa_key)
    answer = _call(fake, token, "GET", "/envelopes/nope", {})
    error_schema = operations()[("GET", f"{API}/envelopes/{{envelopeId}}")]["responses"]["400"][
        "schema"
    ]
    assert answer.status_code == 400 and schema_errors(answer.json(), error_schema) == []


def test_a_query_parameter_outside_the_spec_is_refused(
    fake: FakeESign, settings: DocuSignSettings, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = _token(fake, settings, rsa_key)
    answer = _call(fake, token, "GET", "/envelopes", {"from_date": "2024-01-01", "since": "x"})
    assert answer.status_code == 400
    assert answer.json() == {
        "errorCode": "INVALID_REQUEST_PARAMETER",
        "message": "unknown parameter since",
    }


def test_the_client_sends_only_spec_parameters_and_bodies(
    fake: FakeESign, client: ESignClient
) -> None:
    _populate(fake)
    call = status_changes_call(
        "2024-01-01T00:00Z",
        "2024-02-01T00:00Z",
        from_to_status="changed",
        include=["recipients"],
        status=["sent"],
        start_position=0,
        count=5,
    )
    assert {name for name, _ in call.params} <= query_parameters("GET", f"{API}/envelopes")
    client.republish([ENVELOPE])
    (put,) = [seen for seen in fake.requests if seen.method == "PUT"]
    body_schema = operations()[("PUT", f"{API}/connect/envelopes/retry_queue")]["parameters"]
    (schema,) = [p["schema"] for p in body_schema if p["in"] == "body"]
    assert schema_errors(json.loads(put.body), schema) == []


@pytest.mark.parametrize(
    ("value", "definition", "complaint"),
    [
        ({"resultSetSize": 2}, "envelopesInformation", "$.resultSetSize: must be string, not int"),
        (
            {"envelopes": [{"envelopeID": "x"}]},
            "envelopesInformation",
            "$.envelopes[0].envelopeID: not a property of envelope",
        ),
        (
            {"recipients": {"signers": [{"status": ["sent"]}]}},
            "envelope",
            "$.recipients.signers[0].status: must be string, not list",
        ),
        ({"failures": {"envelopeId": "x"}}, "connectLogs", "$.failures: must be array, not dict"),
    ],
)
def test_the_check_catches_drift(value: Any, definition: str, complaint: str) -> None:
    assert schema_errors(value, {"$ref": f"#/definitions/{definition}"}) == [complaint]
