"""``serve``'s OAuth-for-Connect and client-certificate options (flags and environment)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from connect_mw.cli import build_parser, build_receiver, main
from connect_mw.cli.auth_options import authentication_line
from connect_mw.cli.serve import build_app
from connect_mw.client_cert import ClientCertificatePolicy, NameRule
from connect_mw.errors import ConfigurationError
from connect_mw.oauth import ConnectOAuth
from connect_mw.receiver import Receiver
from connect_mw.stores import ProcessingState
from support.deliveries import KEY, PATH, signed_headers, sim_body
from support.oauth_issuer import AUDIENCE, ISSUER, Issuer, serving
from support.servers import free_port

SUBJECT = "CN=connect.example.test,O=DocuSign\\, Inc."
ISSUER_DN = "CN=Example CA G2,O=Example,C=US"
PRINT = "AB:" * 31 + "CD"


@pytest.fixture(autouse=True)
def no_connect_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OAUTH_ISSUER", "OAUTH_AUDIENCES", "OAUTH_JWKS_URL", "OAUTH_LEEWAY",
                 "CLIENT_CERT_SUBJECTS", "CLIENT_CERT_ISSUERS", "CLIENT_CERT_FINGERPRINTS",
                 "CLIENT_CERT_HEADER", "HMAC_KEYS", "APP", "STORE"):  # fmt: skip
        monkeypatch.delenv(f"CONNECT_MW_{name}", raising=False)


def serve_args(tmp_path: Path, *flags: str) -> argparse.Namespace:
    store = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    return build_parser().parse_args(["serve", "--store", store, *flags])


def oauth_of(receiver: Receiver) -> ConnectOAuth:
    bearer = receiver.authenticator.bearer
    assert isinstance(bearer, ConnectOAuth)
    return bearer


def policy_of(receiver: Receiver) -> ClientCertificatePolicy:
    policy = receiver.authenticator.client_certificate
    assert isinstance(policy, ClientCertificatePolicy)
    return policy


OAUTH_FLAGS = (
    *("--oauth-issuer", ISSUER, "--oauth-audience", AUDIENCE),
    *("--oauth-audience", "api://other", "--oauth-jwks-url", "https://keys.test/jwks"),
)


def test_oauth_flags_build_the_validator(tmp_path: Path) -> None:
    args = serve_args(tmp_path, *OAUTH_FLAGS, "--oauth-leeway", "5", "--oauth-jwks-ttl", "120")
    oauth = oauth_of(build_receiver(args))
    assert oauth.issuer == ISSUER
    assert oauth.audiences == {AUDIENCE, "api://other"}
    assert oauth.leeway == 5.0
    assert oauth.keys.url == "https://keys.test/jwks"
    assert oauth.keys.ttl == 120.0
    assert not build_receiver(args).authenticator.hmac_keys  # OAuth alone authenticates


def test_oauth_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECT_MW_OAUTH_ISSUER", ISSUER)
    monkeypatch.setenv("CONNECT_MW_OAUTH_AUDIENCES", f"{AUDIENCE}, api://other")
    monkeypatch.setenv("CONNECT_MW_OAUTH_JWKS_URL", "https://keys.test/jwks")
    monkeypatch.setenv("CONNECT_MW_OAUTH_LEEWAY", "7")
    oauth = oauth_of(build_receiver(serve_args(tmp_path, "--hmac-key", KEY)))
    assert (oauth.issuer, oauth.leeway) == (ISSUER, 7.0)
    assert oauth.audiences == {AUDIENCE, "api://other"}


def test_client_certificate_flags_build_the_policy(tmp_path: Path) -> None:
    flags = (
        *("--client-cert-subject", SUBJECT, "--client-cert-issuer", ISSUER_DN),
        *("--client-cert-fingerprint", PRINT, "--client-cert-header", "X-SSL-Client-Cert"),
    )
    policy = policy_of(build_receiver(serve_args(tmp_path, "--hmac-key", KEY, *flags)))
    assert policy.header == "x-ssl-client-cert"
    assert policy.subjects == (NameRule.parse(SUBJECT),)
    assert policy.issuers == (NameRule.parse(ISSUER_DN),)
    assert policy.fingerprints == {"ab" * 31 + "cd"}


def test_client_certificate_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECT_MW_CLIENT_CERT_SUBJECTS", f"{SUBJECT}\nCN=second.example.test")
    monkeypatch.setenv("CONNECT_MW_CLIENT_CERT_ISSUERS", ISSUER_DN)
    policy = policy_of(build_receiver(serve_args(tmp_path)))
    assert policy.header == "x-forwarded-client-cert"
    assert [rule.text for rule in policy.subjects] == [SUBJECT, "CN=second.example.test"]
    assert [rule.text for rule in policy.issuers] == [ISSUER_DN]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--oauth-issuer", ISSUER), "missing --oauth-audience and --oauth-jwks-url"),
        (OAUTH_FLAGS[:4], "missing --oauth-jwks-url"),
        ((*OAUTH_FLAGS, "--oauth-leeway", "601"), "--oauth-leeway: must be a number from 0 to 600"),
        ((*OAUTH_FLAGS, "--oauth-jwks-ttl", "0"), "--oauth-jwks-ttl: must be a number above 0"),
        ((*OAUTH_FLAGS, "--oauth-jwks-min-interval=nan"), "--oauth-jwks-min-interval: must be"),
        (("--client-cert-issuer", ISSUER_DN), "--client-cert-issuer needs --client-cert-subject"),
        (("--client-cert-header", "x-cert"), "--client-cert-header needs --client-cert-subject"),
        (("--client-cert-fingerprint", "nope"), "--client-cert-fingerprint: not a SHA-256"),
        (
            ("--client-cert-subject", "CN=a", "--client-cert-issuer", "x"),
            "--client-cert-issuer: not",
        ),
        (
            (*OAUTH_FLAGS[:4], "--oauth-jwks-url", "http://keys.test/jwks"),
            "--oauth-jwks-url: a JWKS URL must be https",
        ),
        ((*OAUTH_FLAGS, "--basic-auth", "u:p"), "Basic and Bearer"),
        ((*OAUTH_FLAGS, "--oauth-audience", " "), "--oauth-audience: an audience is empty"),
    ],
)
def test_misconfigurations_are_one_line_naming_the_flags(
    flags: tuple[str, ...], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_receiver(serve_args(tmp_path, "--hmac-key", KEY, *flags))
    store = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    port = str(free_port())
    assert main(["serve", "--store", store, "--port", port, "--hmac-key", KEY, *flags]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("connect-mw: ") and re.search(message, line)


def test_with_app_the_options_replace_the_receivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "auth_app.py").write_text(
        "from connect_mw import Receiver\n"
        f"receiver = Receiver(hmac_keys='k', store='sqlite:///{tmp_path / 'app.sqlite3'}')\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "auth_app", raising=False)
    argv = ["serve", "--app", "auth_app:receiver", *OAUTH_FLAGS, "--client-cert-subject", SUBJECT]
    receiver = build_receiver(build_parser().parse_args(argv))
    assert oauth_of(receiver).issuer == ISSUER
    assert policy_of(receiver).subjects == (NameRule.parse(SUBJECT),)
    assert receiver.authenticator.hmac_keys.default == ("k",)  # the receiver's own, kept


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    issuer = Issuer()
    issuer.add_key("k1")  # an RSA key made here, with cryptography
    with serving(issuer):
        yield issuer


def test_a_request_through_serves_app_needs_the_token(tmp_path: Path, issuer: Issuer) -> None:
    args = serve_args(
        tmp_path,
        *("--hmac-key", KEY, "--oauth-issuer", ISSUER, "--oauth-audience", AUDIENCE),
        *("--oauth-jwks-url", issuer.jwks_url, "--no-dashboard"),
    )
    receiver = build_receiver(args)
    app = build_app(args, receiver, run_worker=False)

    async def post(envelope: str, token: str | None) -> int:
        body = sim_body(envelope_id=envelope)
        headers = signed_headers(body)
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            reply = await client.post(PATH, content=body, headers=headers)
        return reply.status_code

    assert anyio.run(post, "env-no-token", None) == 401
    assert anyio.run(post, "env-wrong-audience", issuer.token(aud="api://someone-else")) == 401
    assert anyio.run(post, "env-good", issuer.token()) == 200
    assert issuer.fetches == 1
    (event,) = receiver.store.list_events()
    assert (event.envelope_id, event.processing) == ("env-good", ProcessingState.PENDING)
    receiver.store.close()


def test_the_startup_line_names_each_mechanism_and_no_secret(tmp_path: Path) -> None:
    flags = (*OAUTH_FLAGS, "--client-cert-subject", SUBJECT, "--client-cert-header", "x-cert")
    receiver = build_receiver(serve_args(tmp_path, "--hmac-key", KEY, *flags))
    assert authentication_line(receiver.authenticator) == (
        f"authentication: HMAC (1 key(s)), OAuth for Connect (issuer {ISSUER}), "
        "client certificate in x-cert (1 rule(s)) (all required)"
    )
    receiver = build_receiver(serve_args(tmp_path, "--basic-auth", "ops:hunter2"))
    assert authentication_line(receiver.authenticator) == "authentication: Basic"
    receiver = build_receiver(serve_args(tmp_path, "--allow-unauthenticated"))
    assert "none" in authentication_line(receiver.authenticator)
