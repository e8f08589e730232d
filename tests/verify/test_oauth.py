"""OAuth for Connect: DocuSign's bearer JWT checked against the issuer's published keys.

Keys are made here with ``cryptography``; the JWKS is served by a real HTTP server on
loopback (``support.oauth_issuer``); deliveries go through the pure ASGI and the pure WSGI
entry point. Clocks are injected where a test needs time to pass.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from connect_mw import MemoryStore, Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.errors import AuthenticationError, ConfigurationError
from connect_mw.jwks import JwksCache, fetch_url, parse_jwks
from connect_mw.oauth import ConnectOAuth, Jwt
from support.deliveries import KEY, PATH, signed_headers, signed_request, sim_body
from support.entry_points import ASGIClient, Client, WSGIClient, asgi_echo, wsgi_echo
from support.oauth_issuer import AUDIENCE, ISSUER, Issuer, b64url, compact, jwk, serving


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    made = Issuer()
    made.add_key("k1")
    made.add_key("unpublished", publish=False)
    with serving(made) as served:
        yield served


@pytest.fixture
def fresh_issuer() -> Iterator[Issuer]:
    made = Issuer()
    made.add_key("k1")
    with serving(made) as served:
        yield served


def validator(
    issuer: Issuer, clock: Clock | None = None, ttl: float = 3600, min_interval: float = 30
) -> ConnectOAuth:
    cache = JwksCache(issuer.jwks_url, ttl=ttl, min_interval=min_interval, clock=clock or Clock())
    return ConnectOAuth(ISSUER, frozenset({AUDIENCE}), cache)


def via_asgi(receiver: Receiver) -> Client:
    return ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)


def via_wsgi(receiver: Receiver) -> Client:
    return WSGIClient(ConnectWSGIMiddleware(wsgi_echo, receiver=receiver), receiver)


Entry = Callable[[Receiver], Client]
ENTRY = pytest.mark.parametrize("entry", [via_asgi, via_wsgi], ids=lambda f: f.__name__)


def receiver_with(oauth: ConnectOAuth, hmac: bool = True) -> Receiver:
    return Receiver(hmac_keys=KEY if hmac else (), oauth=oauth, store=MemoryStore())


def post(client: Client, token: str | None, envelope: int = 1) -> tuple[int, object]:
    body = sim_body(envelope_id=f"e8b18544-c605-4499-abcf-{envelope:012d}")
    headers = signed_headers(body)
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return client.post(PATH, body, headers)


@ENTRY
def test_a_valid_token_is_accepted_and_the_keys_fetched_once(
    entry: Entry, fresh_issuer: Issuer
) -> None:
    client = entry(receiver_with(validator(fresh_issuer)))
    for n in range(3):
        status, _ = post(client, fresh_issuer.token(), n)
        assert status == 200
    assert fresh_issuer.fetches == 1
    assert len(client.receiver.store.list_envelopes()) == 3


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NONE_HEADER = b64url(b'{"alg":"none"}')
DUPLICATE_CLAIMS = b64url(b'{"a":1,"a":2}')


def refusals(issuer: Issuer) -> list[tuple[str, str | None]]:
    """(expected reason, token) for every way a token is refused."""
    now = int(time.time())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = issuer.token()
    head, body, _ = good.split(".")
    claims = json.loads(b64url_decode(body))
    k1 = issuer.keys["k1"]
    altered = b64url(json.dumps({**claims, "sub": "someone else"}).encode())
    return [
        ("missing Bearer", None),
        ("expired", issuer.token(exp=now - 600, iat=now - 1200, nbf=now - 1200)),
        ("not valid yet", issuer.token(nbf=now + 600, exp=now + 1200)),
        ("issued in the future", issuer.token(iat=now + 600)),
        ("no expiry", issuer.token(exp=None)),
        ("issuer is not", issuer.token(iss="https://evil.example.test/")),
        ("audience is not", issuer.token(aud="api://someone-else")),
        ("audience is not", issuer.token(aud=[])),
        ("signature does not verify", compact(json.loads(b64url_decode(head)), claims, other)),
        ("signature does not verify", f"{head}.{altered}.{good.split('.')[2]}"),
        ("key the issuer does not publish", issuer.token(kid="unpublished")),
        ("algorithm is not RS256", f"{NONE_HEADER}.{body}.AAAA"),
        ("malformed", f"{NONE_HEADER}.{body}."),  # alg none's empty signature
        ("algorithm is not RS256", compact({"alg": "HS256", "kid": "k1"}, claims, other)),
        ("critical header", compact({"alg": "RS256", "kid": "k1", "crit": ["x"]}, claims, k1)),
        ("malformed", "not-a-jwt"),
        ("malformed", f"{head}.{b64url(b'[1]')}.AAAA"),
        ("malformed", f"{head}.{DUPLICATE_CLAIMS}.AAAA"),
        ("too long", "a" * 17_000),
    ]  # fmt: skip


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@ENTRY
def test_every_failure_is_a_401_with_a_log_line_that_quotes_nothing_of_the_token(
    entry: Entry, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    client = entry(receiver_with(validator(issuer)))
    cases = refusals(issuer)
    for n, (reason, token) in enumerate(cases):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="connect_mw"):
            status, answer = post(client, token, n)
        assert status == 401, reason
        assert isinstance(answer, dict) and reason in answer["error"], (reason, answer)
        lines = [r.getMessage() for r in caplog.records]
        assert any(line.startswith("rejected 401") and reason in line for line in lines), lines
        if token is not None:
            for part in token.split("."):
                if len(part) > 8:
                    assert not any(part[:40] in line for line in lines)
    assert client.receiver.store.list_envelopes() == []


@ENTRY
def test_hmac_is_still_required_beside_oauth(entry: Entry, issuer: Issuer) -> None:
    client = entry(receiver_with(validator(issuer)))
    body = sim_body()
    headers = signed_headers(body, key="another-key")
    headers["authorization"] = f"Bearer {issuer.token()}"
    status, _ = client.post(PATH, body, headers)
    assert status == 401


@ENTRY
def test_a_rotated_key_is_fetched_when_a_token_names_it(entry: Entry, fresh_issuer: Issuer) -> None:
    clock = Clock()
    client = entry(receiver_with(validator(fresh_issuer, clock, min_interval=30)))
    assert post(client, fresh_issuer.token("k1"), 1)[0] == 200
    fresh_issuer.rotate_to("k2")
    # Within min_interval an unknown kid does not trigger a fetch: refused, nothing fetched.
    assert post(client, fresh_issuer.token("k2"), 2)[0] == 401
    assert fresh_issuer.fetches == 1
    clock.now += 31
    assert post(client, fresh_issuer.token("k2"), 3)[0] == 200
    assert fresh_issuer.fetches == 2
    # The old key is no longer published: its tokens are refused once the cache refreshed.
    assert post(client, fresh_issuer.token("k1"), 4)[0] == 401


@ENTRY
def test_made_up_key_ids_cannot_make_the_receiver_hammer_the_issuer(
    entry: Entry, fresh_issuer: Issuer
) -> None:
    clock = Clock()
    client = entry(receiver_with(validator(fresh_issuer, clock, min_interval=30)))
    assert post(client, fresh_issuer.token(), 0)[0] == 200
    key = fresh_issuer.keys["k1"]
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600}
    for n in range(1, 6):
        forged = compact({"alg": "RS256", "kid": f"random-{n}"}, claims, key)
        assert post(client, forged, n)[0] == 401
    assert fresh_issuer.fetches == 1


@ENTRY
def test_keys_expire_after_ttl_and_stale_keys_serve_while_the_issuer_is_down(
    entry: Entry, fresh_issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    client = entry(receiver_with(validator(fresh_issuer, clock, ttl=3600, min_interval=30)))
    assert post(client, fresh_issuer.token(), 1)[0] == 200
    clock.now += 3601
    assert post(client, fresh_issuer.token(), 2)[0] == 200  # refreshed after the TTL
    assert fresh_issuer.fetches == 2
    fresh_issuer.up = False
    clock.now += 3601
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        assert post(client, fresh_issuer.token(), 3)[0] == 200  # stale keys kept
    assert fresh_issuer.fetches == 3
    assert any("could not fetch the OAuth signing keys" in r.getMessage() for r in caplog.records)


@ENTRY
def test_an_issuer_down_from_the_start_is_a_401_until_it_answers(
    entry: Entry, fresh_issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    fresh_issuer.up = False
    client = entry(receiver_with(validator(fresh_issuer, clock, min_interval=30)))
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        status, answer = post(client, fresh_issuer.token(), 1)
    assert status == 401 and isinstance(answer, dict)
    assert "keys unavailable" in answer["error"]
    assert any("no key is held" in r.getMessage() for r in caplog.records)
    fresh_issuer.up = True
    clock.now += 31
    assert post(client, fresh_issuer.token(), 2)[0] == 200


def test_oauth_alone_authenticates_and_the_pure_path_uses_cached_keys(
    fresh_issuer: Issuer,
) -> None:
    receiver = receiver_with(validator(fresh_issuer), hmac=False)
    request = signed_request(sim_body(), authorization=f"Bearer {fresh_issuer.token()}")
    with pytest.raises(AuthenticationError, match="keys unavailable"):
        receiver.accept(request)  # pure: no fetch has happened yet
    assert fresh_issuer.fetches == 0
    assert receiver.handle(request).status == 200  # the pipeline fetches
    assert receiver.accept(request).notification.envelope_id  # now cached
    assert fresh_issuer.fetches == 1


def test_leeway_on_expiry(issuer: Issuer) -> None:
    oauth = validator(issuer)
    now = time.time()
    late = ConnectOAuth(oauth.issuer, oauth.audiences, oauth.keys, leeway=60, clock=lambda: now)
    receiver = receiver_with(late)
    inside = issuer.token(exp=int(now) - 30, iat=int(now) - 600, nbf=int(now) - 600)
    outside = issuer.token(exp=int(now) - 90, iat=int(now) - 600, nbf=int(now) - 600)
    ok = receiver.handle(signed_request(sim_body(), authorization=f"Bearer {inside}"))
    assert ok.status == 200
    refused = receiver.handle(signed_request(sim_body(), authorization=f"Bearer {outside}"))
    assert refused.status == 401 and b"expired" in refused.body


def raw_token(issuer: Issuer, claim: str, literal: str) -> str:
    """A token signed by k1 whose ``claim`` is the JSON text ``literal`` (NaN, 1e400…)."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600}
    text = json.dumps({**claims, claim: "@"}).replace('"@"', literal)
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode())
    body = b64url(text.encode())
    key = issuer.keys["k1"]
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(signature)}"


NOT_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, "true",
              '"1700000000"', "null"]  # fmt: skip


@ENTRY
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_a_time_claim_that_is_not_a_finite_number_is_a_401(
    entry: Entry, issuer: Issuer, claim: str
) -> None:
    client = entry(receiver_with(validator(issuer)))
    for n, literal in enumerate(NOT_FINITE):
        if literal == "null" and claim != "exp":
            continue  # an absent nbf/iat is allowed; an absent exp is refused
        status, answer = post(client, raw_token(issuer, claim, literal), n)
        assert status == 401, (claim, literal, answer)
        assert isinstance(answer, dict) and claim in answer["error"], (claim, literal, answer)
    assert client.receiver.store.list_envelopes() == []


def test_configuration_is_checked(issuer: Issuer) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        ConnectOAuth.build(issuer=ISSUER, audience=AUDIENCE, jwks_url="http://keys.example/")
    with pytest.raises(ConfigurationError, match="audience"):
        ConnectOAuth.build(issuer=ISSUER, audience=[], jwks_url=issuer.jwks_url)
    oauth = ConnectOAuth.build(issuer=ISSUER, audience=[AUDIENCE], jwks_url=issuer.jwks_url)
    with pytest.raises(ConfigurationError, match="not both"):
        Receiver(store=MemoryStore(), oauth=oauth, bearer_validator=lambda token: True)
    with pytest.raises(ConfigurationError, match="Basic and Bearer"):
        Receiver(store=MemoryStore(), oauth=oauth, basic_auth=("u", "p"))
    # NaN passes plain comparisons: it would switch off the refresh or the rate limit.
    for ttl, min_interval in ((float("nan"), 30.0), (float("inf"), 30.0), (60.0, float("nan"))):
        with pytest.raises(ConfigurationError, match="finite"):
            ConnectOAuth.build(
                issuer=ISSUER,
                audience=AUDIENCE,
                jwks_url=issuer.jwks_url,
                ttl=ttl,
                min_interval=min_interval,
            )


def test_jwks_keeps_only_rs256_signing_keys_of_2048_bits() -> None:
    strong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    curve = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    document = {
        "keys": [
            jwk("good", strong),
            jwk("weak", weak),
            {**jwk("enc", strong), "use": "enc"},
            {**jwk("ps", strong), "alg": "PS256"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": b64url(curve.x.to_bytes(32, "big")),
             "y": b64url(curve.y.to_bytes(32, "big"))},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        ]
    }  # fmt: skip
    assert list(parse_jwks(json.dumps(document).encode())) == ["good"]
    with pytest.raises(ValueError, match="no RSA signing key"):
        parse_jwks(json.dumps({"keys": [jwk("weak", weak)]}).encode())
    with pytest.raises(ValueError):
        parse_jwks(b"[]")


def test_the_default_fetcher_refuses_a_redirect_to_plain_http(issuer: Issuer) -> None:
    assert parse_jwks(fetch_url(issuer.jwks_url))  # loopback HTTP is allowed
    with pytest.raises(ConfigurationError, match="https"):
        fetch_url(f"{issuer.url}/redirect")


@settings(max_examples=300)
@given(
    st.text(max_size=300)
    | st.from_regex(r"[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,40}")
)
def test_decoding_any_text_refuses_with_an_authentication_error(text: str) -> None:
    with contextlib.suppress(AuthenticationError):
        Jwt.decode(text)


@pytest.fixture(scope="module")
def ready(issuer: Issuer) -> tuple[ConnectOAuth, str]:
    """A validator whose keys are fetched, and a token it accepts."""
    oauth = validator(issuer)
    oauth.keys.refresh()
    token = issuer.token(exp=int(time.time()) + 3600)
    oauth.verify(signed_request(sim_body(), authorization=f"Bearer {token}"))
    return oauth, token


@settings(max_examples=300)
@given(data=st.data())
def test_any_change_to_a_valid_token_is_refused(
    ready: tuple[ConnectOAuth, str], data: st.DataObject
) -> None:
    oauth, token = ready
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(BASE64URL + "."))
    changed = token[:position] + replacement + token[position + 1 :]
    assume(changed != token)
    with pytest.raises(AuthenticationError):
        oauth.verify(signed_request(sim_body(), authorization=f"Bearer {changed}"))


@given(st.binary(max_size=500))
def test_a_jwks_document_is_read_or_refused_with_a_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_jwks(data)
