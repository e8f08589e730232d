"""The eSignature operations against the fake: results, errors, retries."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from connect_mw.rest import (
    DocuSignAPIError,
    DocuSignSettings,
    DocuSignTransportError,
    ESignClient,
    RetryPolicy,
)

from .conftest import Sleeps
from .fake_data import (
    ACCOUNT_ID,
    FakeDocument,
    envelope_id,
    make_configuration,
    make_envelope,
    make_failure,
)
from .fake_esign import FakeESign


def test_get_envelope_with_and_without_include(fake: FakeESign, client: ESignClient) -> None:
    fake.add(make_envelope(1, "completed", fake.now()))
    bare = client.get_envelope(envelope_id(1))
    full = client.get_envelope(envelope_id(1), include=["recipients", "custom_fields"])
    assert bare["status"] == "completed" and "recipients" not in bare
    assert full["recipients"]["signers"][0]["email"] == "bob@example.com"
    assert full["customFields"]["textCustomFields"][0]["value"] == "A-1"
    assert fake.api_calls("/envelopes/")[-1].query == {"include": "recipients,custom_fields"}


def test_calls_go_to_the_account_of_userinfo(fake: FakeESign, client: ESignClient) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    client.get_envelope(envelope_id(1))
    assert fake.api_calls("/envelopes/")[0].path == (
        f"/restapi/v2.1/accounts/{ACCOUNT_ID}/envelopes/{envelope_id(1)}"
    )


def test_list_recipients(fake: FakeESign, client: ESignClient) -> None:
    fake.add(make_envelope(1, "delivered", fake.now()))
    recipients = client.list_recipients(envelope_id(1), include_tabs=True)
    assert [s["status"] for s in recipients["signers"]] == ["delivered"]
    assert recipients["carbonCopies"][0]["name"] == "Carol Copy"
    assert fake.api_calls("/recipients")[0].query == {"include_tabs": "true"}


def test_list_documents(fake: FakeESign, client: ESignClient) -> None:
    fake.add(make_envelope(1, "completed", fake.now()))
    fake.documents[envelope_id(1)] = [
        FakeDocument("1", "Contract.pdf", 120_000),
        FakeDocument("certificate", "Summary", 4_000, kind="summary"),
    ]
    documents = client.list_documents(envelope_id(1))
    assert [
        (d.document_id, d.name, d.document_type, d.order, d.page_count, d.size_bytes)
        for d in documents
    ] == [
        ("1", "Contract.pdf", "content", 1, 1, 120_000),
        ("certificate", "Summary", "summary", 2, 1, 4_000),
    ]
    assert documents[0].uri == f"/envelopes/{envelope_id(1)}/documents/1"
    assert documents[0].raw["documentIdGuid"].endswith("000000000000")


def test_get_form_data(fake: FakeESign, client: ESignClient) -> None:
    fake.add(make_envelope(1, "completed", fake.now()))
    form = client.get_form_data(envelope_id(1))
    assert form["formData"] == [{"name": "amount", "value": "1200.00", "originalValue": "1000.00"}]
    assert form["recipientFormData"][0]["email"] == "bob@example.com"


def test_list_connect_configurations(fake: FakeESign, client: ESignClient) -> None:
    fake.configurations.append(make_configuration())
    (config,) = client.list_connect_configurations()
    assert (config.connect_id, config.name, config.url) == (
        "1234",
        "connect-mw listener",
        "https://listener.example.com/docusign/connect",
    )
    assert (config.all_users, config.envelope_publish, config.include_hmac) == (True, True, True)
    assert config.event_data_version == "restv2.1" and config.raw["deliveryMode"] == "SIM"


def test_list_connect_failures_with_dates(fake: FakeESign, client: ESignClient) -> None:
    now = fake.now()
    fake.failures += [
        make_failure(1, now - timedelta(days=3)),
        make_failure(2, now - timedelta(hours=2)),
    ]
    assert [f.envelope_id for f in client.list_connect_failures()] == [
        envelope_id(1),
        envelope_id(2),
    ]
    (recent,) = client.list_connect_failures(now - timedelta(days=1))
    assert (recent.envelope_id, recent.retry_count, recent.connect_id) == (
        envelope_id(2),
        2,
        "1234",
    )
    assert recent.error == "The server did not respond" and recent.failure_id == "f0002"
    query = fake.api_calls("/connect/failures")[-1].query
    assert set(query) == {"from_date"} and query["from_date"].endswith("Z")


def test_republish(fake: FakeESign, client: ESignClient) -> None:
    fake.add(make_envelope(1, "completed", fake.now()))
    results = client.republish([envelope_id(1), envelope_id(1), envelope_id(9)])
    assert fake.republished == [[envelope_id(1), envelope_id(9)]]  # duplicates sent once
    assert [(r.envelope_id, r.status) for r in results] == [
        (envelope_id(1), "Success"),
        (envelope_id(9), "Failure"),
    ]
    assert results[1].status_message == "envelope not found"
    with pytest.raises(ValueError, match="at least one"):
        client.republish([])


def test_an_api_error_carries_docusigns_code_and_message(client: ESignClient) -> None:
    with pytest.raises(DocuSignAPIError) as caught:
        client.get_envelope("00000000-0000-0000-0000-000000000000")
    error = caught.value
    assert (error.status, error.error_code, error.method) == (400, "ENVELOPE_DOES_NOT_EXIST", "GET")
    assert error.message is not None and error.message.startswith("The envelope specified")
    assert error.path.endswith("/envelopes/00000000-0000-0000-0000-000000000000")
    assert str(error).startswith("DocuSign answered 400 to GET /restapi/v2.1/accounts/")
    assert "ENVELOPE_DOES_NOT_EXIST: The envelope specified" in str(error)


def test_an_error_without_details_still_reads(fake: FakeESign, client: ESignClient) -> None:
    fake.fail("/connect", 404, body={"unexpected": "shape"})
    with pytest.raises(DocuSignAPIError) as caught:
        client.list_connect_configurations()
    assert (caught.value.status, caught.value.error_code, caught.value.message) == (404, None, None)
    assert "404" in str(caught.value)


def test_naive_dates_are_refused(client: ESignClient) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        client.list_connect_failures(datetime(2024, 5, 1))


def test_5xx_is_retried_with_exponential_backoff(
    fake: FakeESign, client: ESignClient, sleeps: Sleeps
) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    fake.fail(f"/envelopes/{envelope_id(1)}", 503, times=3)
    assert client.get_envelope(envelope_id(1))["envelopeId"] == envelope_id(1)
    assert sleeps.waits == [1.0, 2.0, 4.0]
    assert len(fake.api_calls(f"/envelopes/{envelope_id(1)}")) == 4


def test_5xx_gives_up_after_the_last_attempt(
    fake: FakeESign, settings: DocuSignSettings, sleeps: Sleeps
) -> None:
    fake.fail("/connect", 500, times=10)
    policy = RetryPolicy(attempts=3, base_delay=0.5, max_delay=0.75)
    with (
        ESignClient(settings, retry=policy, sleep=sleeps) as client,
        pytest.raises(DocuSignAPIError) as caught,
    ):
        client.list_connect_configurations()
    assert caught.value.status == 500 and caught.value.error_code == "INTERNAL_SERVER_ERROR"
    assert sleeps.waits == [0.5, 0.75]
    assert len(fake.api_calls("/connect")) == 3


def test_429_waits_until_the_rate_limit_resets(
    fake: FakeESign, client: ESignClient, sleeps: Sleeps
) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    fake.rate_limit("/envelopes/", reset_in=7)
    assert client.get_envelope(envelope_id(1))["status"] == "sent"
    (wait,) = sleeps.waits
    assert 6.0 <= wait <= 7.0  # X-RateLimit-Reset is a whole epoch second


def test_retry_after_wins_over_the_backoff(
    fake: FakeESign, client: ESignClient, sleeps: Sleeps
) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    fake.fail("/envelopes/", 503, headers={"Retry-After": "12"})
    client.get_envelope(envelope_id(1))
    assert sleeps.waits == [12.0]


def test_a_429_reset_too_far_away_is_raised_at_once(
    fake: FakeESign, client: ESignClient, sleeps: Sleeps
) -> None:
    fake.rate_limit("/connect", reset_in=3000)
    with pytest.raises(DocuSignAPIError) as caught:
        client.list_connect_configurations()
    assert (caught.value.status, caught.value.error_code) == (
        429,
        "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
    )
    assert sleeps.waits == []


def test_the_token_call_is_retried_too(
    fake: FakeESign, client: ESignClient, sleeps: Sleeps
) -> None:
    fake.fail("/oauth/token", 502)
    assert client.get_account().account_id == ACCOUNT_ID
    assert sleeps.waits == [1.0] and fake.grant.issued == 1


def test_an_unreachable_server_is_retried_then_reported(
    settings: DocuSignSettings, sleeps: Sleeps
) -> None:
    closed = replace(settings, auth_server="http://127.0.0.1:9")  # discard port: refused
    policy = RetryPolicy(attempts=3)
    with (
        ESignClient(closed, sleep=sleeps, retry=policy) as client,
        pytest.raises(DocuSignTransportError) as caught,
    ):
        client.get_account()
    assert sleeps.waits == [1.0, 2.0]
    assert "cannot reach DocuSign for POST /oauth/token: ConnectError" in str(caught.value)


def test_a_stalled_answer_times_out(
    fake: FakeESign, settings: DocuSignSettings, sleeps: Sleeps
) -> None:
    fake.stall("/connect", seconds=1.0, times=2)
    policy = RetryPolicy(attempts=2)
    with (
        ESignClient(settings, timeout=0.2, retry=policy, sleep=sleeps) as client,
        pytest.raises(DocuSignTransportError, match="ReadTimeout"),
    ):
        client.list_connect_configurations()
    assert sleeps.waits == [1.0] and len(fake.api_calls("/connect")) == 2
