"""HMAC, Basic and Bearer authentication (protocol notes §1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from connect_mw.errors import AuthenticationError, ConfigurationError
from connect_mw.http import Request
from connect_mw.verify import Authenticator, BasicCredentials, BearerAuth, HmacKeys, sign

BODY = b'{"event":"envelope-sent","data":{"envelopeId":"e1"}}\r\n'
# Looks like base64 (44 chars, "=") but DocuSign uses it as UTF-8 bytes, undecoded.
SECRET = "9GuCDHn8GoJx8g7w1TYFXTe0PSPlHRPiu5sRL40gq8Y="


def request(body: bytes = BODY, /, **headers: str) -> Request:
    return Request("POST", "/docusign/connect", {k.lower(): v for k, v in headers.items()}, body)


def signed(key: str, body: bytes = BODY, n: int = 1, /, **headers: str) -> Request:
    return request(body, **{f"x-docusign-signature-{n}": sign(key, body)}, **headers)


def test_signature_is_hmac_sha256_of_raw_body_with_key_as_utf8() -> None:
    expected = base64.b64encode(
        hmac.new(SECRET.encode("utf-8"), BODY, hashlib.sha256).digest()
    ).decode()
    assert sign(SECRET, BODY) == expected
    HmacKeys.build(SECRET).verify(signed(SECRET))


def test_base64_looking_secret_is_not_decoded() -> None:
    decoded_key = base64.b64decode(SECRET)
    wrong = base64.b64encode(hmac.new(decoded_key, BODY, hashlib.sha256).digest()).decode()
    with pytest.raises(AuthenticationError):
        HmacKeys.build(SECRET).verify(request(**{"x-docusign-signature-1": wrong}))


def test_reserialized_body_is_rejected() -> None:
    signature = sign(SECRET, BODY)
    reserialized = json.dumps(json.loads(BODY)).encode()
    assert reserialized != BODY
    with pytest.raises(AuthenticationError, match="does not match"):
        HmacKeys.build(SECRET).verify(
            request(reserialized, **{"x-docusign-signature-1": signature})
        )


def test_form_decoded_signature_is_rejected() -> None:
    key = next(f"key-{i}" for i in range(1000) if "+" in sign(f"key-{i}", BODY))
    signature = sign(key, BODY).replace("+", " ")
    with pytest.raises(AuthenticationError):
        HmacKeys.build(key).verify(request(**{"x-docusign-signature-1": signature}))


def test_rotation_any_header_matches_any_key() -> None:
    old, new = "old-key", "new-key"
    keys = HmacKeys.build([new])
    both = request(
        **{"x-docusign-signature-1": sign(old, BODY), "x-docusign-signature-2": sign(new, BODY)}
    )
    keys.verify(both)
    HmacKeys.build([old, new]).verify(signed(old))
    HmacKeys.build([old, new]).verify(signed(new))


def test_later_signature_header_alone_is_checked() -> None:
    HmacKeys.build("k").verify(signed("k", BODY, 7))
    HmacKeys.build("k").verify(signed("k", BODY, 100))


def test_missing_signature_is_rejected() -> None:
    with pytest.raises(AuthenticationError, match="missing"):
        HmacKeys.build("k").verify(request())


def test_wrong_key_and_tampered_body_are_rejected() -> None:
    with pytest.raises(AuthenticationError):
        HmacKeys.build("k").verify(signed("other"))
    tampered = request(BODY + b" ", **{"x-docusign-signature-1": sign("k", BODY)})
    with pytest.raises(AuthenticationError):
        HmacKeys.build("k").verify(tampered)


def test_garbage_and_non_ascii_signature_values_are_rejected() -> None:
    for value in ["", "not base64!!", "ü" * 44, sign("k", BODY) + "x"]:
        with pytest.raises(AuthenticationError):
            HmacKeys.build("k").verify(request(**{"x-docusign-signature-1": value}))


def test_too_many_signature_headers_are_rejected() -> None:
    headers = {f"x-docusign-signature-{i}": "x" for i in range(1, 300)}
    with pytest.raises(AuthenticationError, match="more than"):
        HmacKeys.build("k").verify(request(**headers))


def test_per_account_keys_are_chosen_by_account_header() -> None:
    keys = HmacKeys.build("default-key", {"ACCT-A": "key-a"})
    keys.verify(signed("key-a", **{"x-docusign-accountid": "acct-a"}))
    keys.verify(signed("default-key", **{"x-docusign-accountid": "acct-b"}))
    keys.verify(signed("default-key"))
    with pytest.raises(AuthenticationError):
        keys.verify(signed("default-key", **{"x-docusign-accountid": "acct-a"}))
    with pytest.raises(AuthenticationError):
        keys.verify(signed("key-a", **{"x-docusign-accountid": "acct-b"}))


def test_account_without_keys_and_no_default_is_rejected() -> None:
    keys = HmacKeys.build((), {"acct-a": "key-a"})
    with pytest.raises(AuthenticationError, match="no HMAC key"):
        keys.verify(signed("key-a", **{"x-docusign-accountid": "acct-z"}))


def test_empty_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        HmacKeys.build([""])


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth() -> None:
    creds = BasicCredentials("docusign", "pa:ss")
    creds.verify(request(authorization=basic("docusign", "pa:ss")))
    for header in [basic("docusign", "nope"), basic("other", "pa:ss"), "Basic !!!", "Bearer x", ""]:
        with pytest.raises(AuthenticationError):
            creds.verify(request(authorization=header))


def test_bearer_hook() -> None:
    auth = BearerAuth(lambda token: token == "good")
    auth.verify(request(authorization="Bearer good"))
    with pytest.raises(AuthenticationError):
        auth.verify(request(authorization="Bearer bad"))

    def explode(token: str) -> bool:
        raise ValueError("jwks unreachable")

    with pytest.raises(AuthenticationError, match="validator"):
        BearerAuth(explode).verify(request(authorization="Bearer good"))


def test_authenticator_requires_every_configured_mechanism() -> None:
    auth = Authenticator(HmacKeys.build("k"), basic=BasicCredentials("u", "p"))
    auth.verify(signed("k", authorization=basic("u", "p")))
    with pytest.raises(AuthenticationError):
        auth.verify(signed("k"))
    with pytest.raises(AuthenticationError):
        auth.verify(request(authorization=basic("u", "p")))


def test_basic_and_bearer_together_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Authenticator(basic=BasicCredentials("u", "p"), bearer=BearerAuth(lambda t: True))


def test_nothing_configured() -> None:
    assert not Authenticator().configured
    assert Authenticator(HmacKeys.build("k")).configured
