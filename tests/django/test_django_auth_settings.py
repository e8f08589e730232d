"""``CONNECT_MW``'s ``OAUTH_*`` and ``CLIENT_CERT_*`` keys, and the checks that report them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support import django_settings

django_settings.setup()

from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import override_settings  # noqa: E402

from connect_mw.adapters.django import ConnectDjangoMiddleware, get_receiver  # noqa: E402
from connect_mw.adapters.django.checks import check_connect_settings  # noqa: E402
from connect_mw.adapters.django.settings import parse_settings  # noqa: E402
from connect_mw.client_cert import ClientCertificatePolicy, NameRule  # noqa: E402
from connect_mw.oauth import ConnectOAuth  # noqa: E402
from support.deliveries import KEY, signed_request, sim_body  # noqa: E402
from support.oauth_issuer import AUDIENCE, ISSUER, Issuer, serving  # noqa: E402

SUBJECT = "CN=connect.example.test,O=DocuSign\\, Inc."
OAUTH = {
    "OAUTH_ISSUER": ISSUER,
    "OAUTH_AUDIENCES": [AUDIENCE, "api://other"],
    "OAUTH_JWKS_URL": "https://keys.test/jwks",
}


def test_the_keys_build_the_verifiers() -> None:
    config = parse_settings(
        {
            **OAUTH,
            "OAUTH_LEEWAY": 5,
            "OAUTH_JWKS_TTL": 120,
            "OAUTH_JWKS_MIN_INTERVAL": 0,
            "CLIENT_CERT_SUBJECTS": SUBJECT,
            "CLIENT_CERT_ISSUERS": ["CN=Example CA,O=Example"],
            "CLIENT_CERT_FINGERPRINTS": ["ab" * 32],
            "CLIENT_CERT_HEADER": "X-SSL-Client-Cert",
        }
    )
    assert config.authenticated
    options = config.receiver_options()
    oauth, policy = options["oauth"], options["client_certificate"]
    assert isinstance(oauth, ConnectOAuth) and isinstance(policy, ClientCertificatePolicy)
    assert (oauth.issuer, oauth.leeway) == (ISSUER, 5.0)
    assert oauth.audiences == {AUDIENCE, "api://other"}
    assert (oauth.keys.url, oauth.keys.ttl, oauth.keys.min_interval) == (
        OAUTH["OAUTH_JWKS_URL"],
        120.0,
        0.0,
    )
    assert policy.header == "x-ssl-client-cert"
    assert policy.subjects == (NameRule.parse(SUBJECT),)
    assert policy.fingerprints == {"ab" * 32}
    assert parse_settings({}).receiver_options()["oauth"] is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"OAUTH_AUDIENCES": 3}, "CONNECT_MW['OAUTH_AUDIENCES']: expected a non-empty string"),
        ({"OAUTH_ISSUER": ""}, "CONNECT_MW['OAUTH_ISSUER']: expected a non-empty string"),
        ({"OAUTH_JWKS_TTL": 0}, "CONNECT_MW['OAUTH_JWKS_TTL']: expected a positive float"),
        ({"OAUTH_JWKS_MIN_INTERVAL": float("nan")}, "CONNECT_MW['OAUTH_JWKS_MIN_INTERVAL']: "),
        ({"OAUTH_LEEWAY": float("inf")}, "CONNECT_MW['OAUTH_LEEWAY']: expected a finite number"),
        ({"CLIENT_CERT_SUBJECTS": [1]}, "CONNECT_MW['CLIENT_CERT_SUBJECTS']: expected"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_key(value: dict[str, Any], message: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        parse_settings(value)
    assert message in str(raised.value)


def ids(config: dict[str, Any]) -> list[str]:
    with override_settings(CONNECT_MW=config):
        return [str(message.id) for message in check_connect_settings()]


def messages(config: dict[str, Any]) -> list[str]:
    with override_settings(CONNECT_MW=config):
        return [str(message.msg) for message in check_connect_settings()]


def test_system_checks_report_what_cannot_build_a_verifier() -> None:
    assert ids({"OAUTH_ISSUER": ISSUER, "HMAC_KEYS": [KEY]}) == ["connect_mw.E003"]
    (line,) = messages({"OAUTH_ISSUER": ISSUER})
    assert line == (
        "OAuth for Connect needs CONNECT_MW['OAUTH_ISSUER'], CONNECT_MW['OAUTH_AUDIENCES'], "
        "CONNECT_MW['OAUTH_JWKS_URL'] together: missing CONNECT_MW['OAUTH_AUDIENCES'] and "
        "CONNECT_MW['OAUTH_JWKS_URL']"
    )
    (line,) = messages({**OAUTH, "OAUTH_JWKS_URL": "http://keys.test/jwks"})
    assert line.startswith("CONNECT_MW['OAUTH_JWKS_URL']: a JWKS URL must be https://")
    assert ids({**OAUTH, "BASIC_AUTH": ["u", "p"]}) == ["connect_mw.E003"]
    (line,) = messages({"CLIENT_CERT_ISSUERS": ["CN=Example CA"]})
    assert line.startswith(
        "CONNECT_MW['CLIENT_CERT_ISSUERS'] needs CONNECT_MW['CLIENT_CERT_SUBJECTS']"
    )
    assert ids({"CLIENT_CERT_SUBJECTS": "no name here"}) == ["connect_mw.E004"]
    assert ids({"CLIENT_CERT_FINGERPRINTS": ["ab:cd"], "HMAC_KEYS": [KEY]}) == ["connect_mw.E004"]


def test_either_mechanism_alone_authenticates() -> None:
    assert ids(OAUTH) == []
    assert ids({"CLIENT_CERT_SUBJECTS": SUBJECT}) == []
    assert ids({}) == ["connect_mw.W001"]


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


def test_the_middleware_refuses_to_start_with_a_broken_key() -> None:
    with (
        override_settings(CONNECT_MW={"HMAC_KEYS": [KEY], "OAUTH_ISSUER": ISSUER}),
        pytest.raises(ImproperlyConfigured, match=r"CONNECT_MW: OAuth for Connect needs"),
    ):
        ConnectDjangoMiddleware(ok)


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    issuer = Issuer()
    issuer.add_key("k1")
    with serving(issuer):
        yield issuer


def test_the_projects_receiver_checks_the_token(issuer: Issuer) -> None:
    django_settings.reset_tables()
    config = {
        "HMAC_KEYS": [KEY],
        "OAUTH_ISSUER": ISSUER,
        "OAUTH_AUDIENCES": AUDIENCE,
        "OAUTH_JWKS_URL": issuer.jwks_url,
        "RUN_WORKER": False,
    }
    with override_settings(CONNECT_MW=config):
        receiver = get_receiver()
        body = sim_body(envelope_id="env-oauth")
        assert receiver.handle(signed_request(body)).status == 401
        bearer = f"Bearer {issuer.token()}"
        assert receiver.handle(signed_request(body, authorization=bearer)).status == 200
        (event,) = receiver.store.list_events()
    assert event.envelope_id == "env-oauth"
