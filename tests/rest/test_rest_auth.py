"""OAuth JWT Grant against the fake account server, and the settings it starts from."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connect_mw.errors import ConfigurationError
from connect_mw.rest import (
    ConsentRequired,
    DocuSignAuthError,
    DocuSignSettings,
    ESignClient,
    consent_url,
)
from connect_mw.rest.auth import JWT_GRANT, pick_account
from connect_mw.rest.jwt import assertion, claims, load_private_key, sign

from .conftest import Clock, Sleeps, private_pem
from .fake_data import ACCOUNT_ID, envelope_id, make_envelope
from .fake_esign import OTHER_ACCOUNT_ID, FakeESign


def _part(token: str, index: int) -> dict[str, object]:
    part = token.split(".")[index]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_assertion_is_rs256_with_docusign_claims(
    settings: DocuSignSettings, rsa_key: rsa.RSAPrivateKey
) -> None:
    signed = assertion(settings, rsa_key, 1_700_000_000.5)
    assert _part(signed, 0) == {"alg": "RS256", "typ": "JWT"}
    assert _part(signed, 1) == {
        "iss": settings.integration_key,
        "sub": settings.user_id,
        "aud": urlsplit(settings.auth_server).netloc,
        "iat": 1_700_000_000,
        "exp": 1_700_003_600,
        "scope": "signature impersonation",
    }
    head, body, signature = signed.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    rsa_key.public_key().verify(raw, f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())


def test_audience_is_the_bare_host_for_docusign_servers() -> None:
    demo = DocuSignSettings("ik", "user", "-----BEGIN x")
    production = replace(demo, auth_server="account.docusign.com")
    assert (demo.audience, demo.auth_url) == (
        "account-d.docusign.com",
        "https://account-d.docusign.com",
    )
    assert production.audience == "account.docusign.com"


def test_token_is_fetched_once_and_reused(fake: FakeESign, client: ESignClient) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    client.get_envelope(envelope_id(1))
    client.get_envelope(envelope_id(1))
    assert fake.grant.issued == 1
    assert len(fake.api_calls("/oauth/userinfo")) == 1


def test_token_is_renewed_shortly_before_it_expires(
    fake: FakeESign, client: ESignClient, clock: Clock
) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    client.get_envelope(envelope_id(1))
    clock.advance(3600 - 301)  # 5 minutes before expiry: still used
    client.get_envelope(envelope_id(1))
    assert fake.grant.issued == 1
    clock.advance(2)  # inside the last 5 minutes: renewed first
    client.get_envelope(envelope_id(1))
    assert fake.grant.issued == 2
    assert all(call.authorized for call in fake.api_calls("/envelopes/"))


def test_a_token_expired_early_is_replaced_after_the_401(
    fake: FakeESign, client: ESignClient
) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    client.get_envelope(envelope_id(1))
    fake.grant.expire_all()
    assert client.get_envelope(envelope_id(1))["envelopeId"] == envelope_id(1)
    calls = fake.api_calls("/envelopes/")
    assert [call.authorized for call in calls] == [True, False, True]
    assert fake.grant.issued == 2


def test_a_key_the_integration_key_does_not_know_is_refused(
    settings: DocuSignSettings, stranger_key: rsa.RSAPrivateKey, fake: FakeESign
) -> None:
    stranger = replace(settings, private_key=private_pem(stranger_key))
    with ESignClient(stranger) as client, pytest.raises(DocuSignAuthError) as caught:
        client.get_account()
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == "no_valid_keys_or_signatures"
    assert "does not match a public key registered" in str(caught.value)
    assert fake.grant.issued == 0


def test_an_expired_assertion_is_refused(settings: DocuSignSettings, fake: FakeESign) -> None:
    two_hours_ago = Clock(offset=-7200)
    with (
        ESignClient(settings, clock=two_hours_ago) as client,
        pytest.raises(DocuSignAuthError) as caught,
    ):
        client.get_account()
    assert caught.value.description == "expired"
    assert "clock" in str(caught.value)


def test_a_wrong_user_or_integration_key_is_refused(settings: DocuSignSettings) -> None:
    for changed, reason in (
        (replace(settings, user_id="someone-else"), "user_not_found"),
        (replace(settings, integration_key="other-key"), "issuer_not_found"),
        (replace(settings, scopes="signature"), "signature and impersonation are required"),
    ):
        with ESignClient(changed) as client, pytest.raises(DocuSignAuthError) as caught:
            client.get_account()
        assert caught.value.description == reason


def test_the_fake_checks_the_audience_and_lifetime(
    settings: DocuSignSettings, rsa_key: rsa.RSAPrivateKey, fake: FakeESign
) -> None:
    now = fake.clock()
    good = claims(settings, now)
    for changed, reason in (
        ({**good, "aud": "account-d.docusign.com"}, "invalid_audience"),
        ({**good, "exp": int(now) + 7200}, "invalid_lifetime"),
        ({**good, "iat": int(now) + 600, "exp": int(now) + 1200}, "invalid_lifetime"),
    ):
        form = {"grant_type": JWT_GRANT, "assertion": sign(changed, rsa_key)}
        answer = httpx.post(f"{fake.base_url}/oauth/token", data=form)
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": "invalid_grant", "error_description": reason},
        )
    assert fake.grant.issued == 0


def test_consent_required_says_which_url_to_open(
    settings: DocuSignSettings, fake: FakeESign
) -> None:
    fake.grant.consented = False
    with_redirect = replace(settings, redirect_uri="https://app.example.com/callback")
    with ESignClient(with_redirect) as client, pytest.raises(ConsentRequired) as caught:
        client.get_account()
    url = caught.value.consent_url
    assert url in str(caught.value)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == fake.base_url
    assert parts.path == "/oauth/auth"
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "scope": ["signature impersonation"],
        "client_id": [settings.integration_key],
        "redirect_uri": ["https://app.example.com/callback"],
    }


def test_consent_url_for_demo_names_the_missing_redirect() -> None:
    url = consent_url(DocuSignSettings("ik-123", "user", "-----BEGIN x"))
    assert url.startswith("https://account-d.docusign.com/oauth/auth?response_type=code")
    assert "scope=signature+impersonation" in url and "client_id=ik-123" in url
    assert "redirect_uri=<a+redirect+URI+registered+on+the+key>" in url


def test_the_default_account_is_used_without_account_id(
    client: ESignClient, fake: FakeESign
) -> None:
    account = client.get_account()
    assert (account.account_id, account.base_uri, account.account_name) == (
        ACCOUNT_ID,
        fake.base_url,
        "Main",
    )
    assert account.api_url == fake.base_url + "/restapi"


def test_account_id_picks_that_account(settings: DocuSignSettings) -> None:
    with ESignClient(replace(settings, account_id=OTHER_ACCOUNT_ID.upper())) as client:
        assert client.get_account().account_id == OTHER_ACCOUNT_ID


def test_an_unknown_account_id_lists_the_known_ones(settings: DocuSignSettings) -> None:
    with (
        ESignClient(replace(settings, account_id="nope")) as client,
        pytest.raises(DocuSignAuthError) as caught,
    ):
        client.get_account()
    assert "no account nope" in str(caught.value) and ACCOUNT_ID in str(caught.value)


def test_base_uri_skips_userinfo(settings: DocuSignSettings, fake: FakeESign) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    direct = replace(settings, account_id=ACCOUNT_ID, base_uri=fake.base_url)
    with ESignClient(direct) as client:
        client.get_envelope(envelope_id(1))
    assert fake.api_calls("/oauth/userinfo") == []
    assert fake.grant.issued == 1


def test_pick_account_accepts_string_flags_and_falls_back_to_the_first() -> None:
    accounts = {
        "accounts": [
            {"account_id": "a", "is_default": "false", "base_uri": "https://na3.docusign.net"},
            {"account_id": "b", "is_default": "true", "base_uri": "https://eu.docusign.net"},
        ]
    }
    assert pick_account(accounts, None).account_id == "b"
    assert pick_account({"accounts": accounts["accounts"][:1]}, None).account_id == "a"
    with pytest.raises(DocuSignAuthError, match="has no account"):
        pick_account({"accounts": []}, None)


def test_settings_from_env_and_overrides(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    key_file = tmp_path / "docusign.pem"
    key_file.write_text(private_pem(rsa_key))
    env = {
        "CONNECT_MW_DOCUSIGN_INTEGRATION_KEY": "ik",
        "CONNECT_MW_DOCUSIGN_USER_ID": "user",
        "CONNECT_MW_DOCUSIGN_PRIVATE_KEY": str(key_file),
        "CONNECT_MW_DOCUSIGN_AUTH_SERVER": "account.docusign.com",
    }
    settings = DocuSignSettings.from_env(env, account_id="acc", user_id=None)
    assert (settings.integration_key, settings.user_id, settings.account_id) == (
        "ik",
        "user",
        "acc",
    )
    assert settings.auth_server == "account.docusign.com" and settings.base_uri is None
    assert load_private_key(settings.private_key_pem()).key_size == 2048
    with pytest.raises(ConfigurationError, match="CONNECT_MW_DOCUSIGN_USER_ID"):
        DocuSignSettings.from_env({k: v for k, v in env.items() if "USER" not in k})
    with pytest.raises(TypeError, match="'acount_id'"):
        DocuSignSettings.from_env(env, acount_id="typo")


def test_the_private_key_never_shows(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = private_pem(rsa_key)
    settings = DocuSignSettings("ik", "user", pem)
    assert "PRIVATE" not in repr(settings)
    body = pem.splitlines()[1]
    for broken in (pem.replace(body, "A" * len(body)), body + "\n" + body):
        with pytest.raises(ConfigurationError) as caught:
            load_private_key(replace(settings, private_key=broken).private_key_pem())
        assert body not in str(caught.value) and "AAAA" not in str(caught.value)


def test_a_missing_key_file_is_a_configuration_error(tmp_path: Path) -> None:
    settings = DocuSignSettings("ik", "user", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigurationError, match="cannot read the private key file"):
        ESignClient(settings)


def test_no_token_key_or_assertion_reaches_the_logs(
    fake: FakeESign, settings: DocuSignSettings, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add(make_envelope(1, "sent", fake.now()))
    fake.fail("/envelopes/", 503)
    caplog.set_level(logging.DEBUG)
    with ESignClient(settings, sleep=sleeps) as client:
        client.get_envelope(envelope_id(1))
        fake.grant.expire_all()
        client.get_envelope(envelope_id(1))
        text = repr(client) + repr(client.session.auth)
    secrets = [*fake.grant.tokens, settings.private_key.splitlines()[1]]
    logged = "\n".join(record.getMessage() for record in caplog.records) + text
    assert "retry in" in logged  # the retry was logged...
    assert not [secret for secret in secrets if secret in logged]  # ...without a secret
    assert "assertion=" not in logged and "eyJ" not in logged
