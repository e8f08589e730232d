"""Subscription builders: the exact JSON DocuSign's REST API takes, and input validation."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from connect_mw.cli import main
from connect_mw.subscriptions import (
    DEFAULT_EVENTS,
    KNOWN_EVENTS,
    SubscriptionError,
    connect_configuration,
    event_notification,
)

URL = "https://example.com/docusign/connect"

# Field names of DocuSign's eSignature REST API v2.1 reference (the docusign-esign models
# EventNotification, ConnectCustomConfiguration and ConnectEventData): whatever the builders
# emit must be one of these, spelled exactly so.
EVENT_NOTIFICATION_FIELDS = {
    "deliveryMode", "envelopeEvents", "eventData", "events", "includeCertificateOfCompletion",
    "includeCertificateWithSoap", "includeDocumentFields", "includeDocuments",
    "includeEnvelopeVoidReason", "includeHMAC", "includeOAuth",
    "includeSenderAccountAsCustomField",
    "includeTimeZone", "loggingEnabled", "recipientEvents", "requireAcknowledgment",
    "signMessageWithX509Cert", "soapNameSpace", "url", "useSoapInterface",
}  # fmt: skip
CONNECT_CONFIGURATION_FIELDS = {
    "allowEnvelopePublish", "allowSalesforcePublish", "allUsers", "allUsersExcept",
    "configurationType", "connectId", "deliveryMode", "disabledBy", "enableLog",
    "envelopeEvents", "eventData", "events", "externalFolderId", "externalFolderLabel",
    "groupIds", "includeCertificateOfCompletion", "includeCertSoapHeader",
    "includeDocumentFields", "includeDocuments", "includeEnvelopeVoidReason", "includeHMAC",
    "includeOAuth", "includeSenderAccountasCustomField", "includeTimeZoneInformation",
    "integratorManaged", "name", "password", "recipientEvents", "requireMutualTls",
    "requiresAcknowledgement", "senderOverride", "senderSelectableItems", "sfObjects",
    "signMessageWithX509Certificate", "soapNamespace", "urlToPublishTo", "userIds", "userName",
    "useSoapInterface",
}  # fmt: skip
EVENT_DATA_FIELDS = {"format", "includeData", "version"}


def test_event_notification_exact_json() -> None:
    body = event_notification(
        URL,
        events=["envelope-completed", "recipient-completed", "envelope-completed"],
        include_data=["recipients", "documents"],
    )
    assert body == {
        "url": URL,
        "requireAcknowledgment": "true",
        "loggingEnabled": "true",
        "includeHMAC": "true",
        "deliveryMode": "SIM",
        "events": ["envelope-completed", "recipient-completed"],
        "eventData": {
            "version": "restv2.1",
            "format": "json",
            "includeData": ["recipients", "documents"],
        },
    }
    assert set(body) <= EVENT_NOTIFICATION_FIELDS
    assert set(body["eventData"]) == EVENT_DATA_FIELDS


def test_event_notification_defaults_and_switches() -> None:
    body = event_notification(
        URL, require_acknowledgment=False, include_hmac=False, logging_enabled=False
    )
    assert body["events"] == list(DEFAULT_EVENTS)
    assert body["eventData"]["includeData"] == ["custom_fields", "recipients"]
    flags = ("requireAcknowledgment", "includeHMAC", "loggingEnabled")
    assert [body[name] for name in flags] == ["false", "false", "false"]


def test_connect_configuration_exact_json() -> None:
    body = connect_configuration(
        URL, name=" billing ", events=["envelope-sent"], include_data=["custom_fields"]
    )
    assert body == {
        "name": "billing",
        "urlToPublishTo": URL,
        "allowEnvelopePublish": "true",
        "enableLog": "true",
        "allUsers": "true",
        "configurationType": "custom",
        "deliveryMode": "SIM",
        "events": ["envelope-sent"],
        "eventData": {"version": "restv2.1", "format": "json", "includeData": ["custom_fields"]},
        "requiresAcknowledgement": "true",
        "includeHMAC": "true",
    }
    assert set(body) <= CONNECT_CONFIGURATION_FIELDS


def test_connect_configuration_for_some_users() -> None:
    body = connect_configuration(URL, name="n", user_ids=["u-1", "u-2", "u-1"])
    assert (body["allUsers"], body["userIds"]) == ("false", ["u-1", "u-2"])
    assert set(body) <= CONNECT_CONFIGURATION_FIELDS


def test_every_flag_is_the_string_true_or_false() -> None:
    flags = ("include", "require", "logging", "enable", "allow", "all")
    for body in (event_notification(URL), connect_configuration(URL, name="n")):
        values = {value for name, value in body.items() if name.startswith(flags)}
        assert values == {"true"}, body


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: event_notification(URL, include_data=["recipients", "tabz"]), "'tabz'"),
        (lambda: event_notification("http://example.com/hook"), "https://"),
        (lambda: event_notification("https:///no-host"), "absolute"),
        (lambda: event_notification("example.com/hook"), "absolute"),
        (lambda: event_notification(URL, events=["envelope-finished"]), "envelope-finished"),
        (lambda: event_notification(URL, events=[]), "at least one event"),
        (lambda: connect_configuration(URL, name="  "), "needs a name"),
    ],
)
def test_invalid_input_is_rejected_clearly(call: Callable[[], object], message: str) -> None:
    with pytest.raises(SubscriptionError) as error:
        call()
    assert message in str(error.value)


def test_unknown_include_data_lists_the_choices() -> None:
    with pytest.raises(SubscriptionError, match="choose from attachments, custom_fields"):
        event_notification(URL, include_data=["everything"])


def test_http_only_when_allowed() -> None:
    body = event_notification("http://127.0.0.1:8000/docusign/connect", allow_http=True)
    assert body["url"] == "http://127.0.0.1:8000/docusign/connect"


def test_cli_prints_the_builders_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["event-notification", "--url", URL, "--event", "envelope-voided"]
    assert main([*argv, "--include-data", "tabs", "--no-log"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == event_notification(
        URL, events=["envelope-voided"], include_data=["tabs"], logging_enabled=False
    )
    assert main(["connect-config", "--url", URL, "--name", "app", "--user-id", "u-9"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == connect_configuration(URL, name="app", user_ids=["u-9"])
    assert main(["connect-config", "--url", URL, "--name", "app", "--no-ack"]) == 0
    assert json.loads(capsys.readouterr().out)["requiresAcknowledgement"] == "false"


def test_cli_rejects_bad_values_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["event-notification", "--url", URL, "--include-data", "bogus"]) == 2
    assert "unknown includeData value 'bogus'" in capsys.readouterr().err
    assert main(["event-notification", "--url", "http://example.com/x"]) == 2
    assert "https://" in capsys.readouterr().err
    assert main(["event-notification", "--url", "http://example.com/x", "--allow-http"]) == 0


def test_all_26_event_triggers_are_known_and_accepted() -> None:
    assert len(KNOWN_EVENTS) == len(set(KNOWN_EVENTS)) == 26
    prefixes = ("envelope-", "recipient-", "template-", "click-")
    assert [sum(e.startswith(p) for e in KNOWN_EVENTS) for p in prefixes] == [11, 10, 3, 2]
    assert event_notification(URL, events=KNOWN_EVENTS)["events"] == list(KNOWN_EVENTS)
    body = connect_configuration(URL, name="n", events=["template-created", "click-agreed"])
    assert body["events"] == ["template-created", "click-agreed"]


def test_security_options_use_each_bodys_spelling() -> None:
    body = event_notification(URL, sign_with_x509=True, include_oauth=True)
    assert (body["signMessageWithX509Cert"], body["includeOAuth"]) == ("true", "true")
    assert set(body) <= EVENT_NOTIFICATION_FIELDS
    config = connect_configuration(URL, name="n", sign_with_x509=True, include_oauth=True)
    assert (config["signMessageWithX509Certificate"], config["includeOAuth"]) == ("true", "true")
    assert set(config) <= CONNECT_CONFIGURATION_FIELDS
    assert "includeOAuth" not in event_notification(URL)


def test_recipient_side_configuration_for_groups() -> None:
    body = connect_configuration(URL, name="n", recipient_side=True, group_ids=["g-1", "g-1"])
    assert (body["configurationType"], body["groupIds"], body["allUsers"]) == (
        "customrecipient",
        ["g-1"],
        "false",
    )
    assert set(body) <= CONNECT_CONFIGURATION_FIELDS


def test_legacy_xml_event_notification() -> None:
    events = ["envelope-completed", "recipient-autoresponded", "envelope-voided"]
    body = event_notification(URL, events=events, legacy_xml=True, include_time_zone=False)
    assert body == {
        "url": URL,
        "requireAcknowledgment": "true",
        "loggingEnabled": "true",
        "includeHMAC": "true",
        "envelopeEvents": [
            {"envelopeEventStatusCode": "Completed", "includeDocuments": "false"},
            {"envelopeEventStatusCode": "Voided", "includeDocuments": "false"},
        ],
        "recipientEvents": [
            {"recipientEventStatusCode": "AutoResponded", "includeDocuments": "false"}
        ],
        "includeDocuments": "false",
        "includeEnvelopeVoidReason": "true",
        "includeTimeZone": "false",
    }
    assert set(body) <= EVENT_NOTIFICATION_FIELDS


def test_legacy_xml_connect_configuration() -> None:
    body = connect_configuration(URL, name="n", legacy_xml=True, include_data=["documents"])
    assert body["envelopeEvents"] == ["Sent", "Delivered", "Completed", "Declined", "Voided"]
    assert body["recipientEvents"] == [
        "Sent",
        "Delivered",
        "Completed",
        "Declined",
        "AutoResponded",
    ]
    assert (body["includeTimeZoneInformation"], body["includeDocuments"]) == ("true", "true")
    assert "events" not in body and "deliveryMode" not in body
    assert set(body) <= CONNECT_CONFIGURATION_FIELDS


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: event_notification(URL, events=["click-agreed"], legacy_xml=True),
            "'click-agreed' has no legacy XML form",
        ),
        (
            lambda: event_notification(URL, events=["envelope-corrected"], legacy_xml=True),
            "'envelope-corrected' has no legacy XML form",
        ),
        (
            lambda: connect_configuration(URL, name="n", include_time_zone=False),
            "only applies to the legacy XML form",
        ),
    ],
)
def test_legacy_xml_limits(call: Callable[[], object], message: str) -> None:
    with pytest.raises(SubscriptionError, match=message):
        call()


def test_cli_offers_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["connect-config", "--url", URL, "--name", "app"]
    flags = ["--all-events", "--x509", "--oauth", "--recipient-side", "--group-id", "g-1"]
    assert main([*base, *flags]) == 0
    assert json.loads(capsys.readouterr().out) == connect_configuration(
        URL,
        name="app",
        events=KNOWN_EVENTS,
        sign_with_x509=True,
        include_oauth=True,
        recipient_side=True,
        group_ids=["g-1"],
    )
    assert main(["event-notification", "--url", URL, "--legacy-xml", "--no-time-zone"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == event_notification(URL, legacy_xml=True, include_time_zone=False)
    assert main(["event-notification", "--url", URL, "--event", "template-created"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == ["template-created"]
    assert main(["event-notification", "--url", URL, "--no-time-zone"]) == 2
    assert "legacy XML" in capsys.readouterr().err
    assert main(["event-notification", "--url", URL, "--all-events", "--event", "x"]) == 2
    assert "exclude each other" in capsys.readouterr().err
