"""Known secrets go into every entry point and the command line; none comes out.

HMAC keys, Basic credentials, a store password, an encryption key, dashboard credentials
and a DocuSign private key are configured; requests good and bad are sent; everything
written (stdout, stderr, log records with their tracebacks, HTTP answers and headers) is
scanned for each secret.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from connect_mw import Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.adapters.starlette import connect_route
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from connect_mw.dashboard import Dashboard
from connect_mw.encryption import Encryptor
from support.deliveries import PATH, signed_headers, sim_body
from support.entry_points import ASGIClient, Client, WSGIClient, asgi_echo, wsgi_echo
from support.services import drop_postgres_schema, require_postgres, unique_name
from support.serving import connect_mw, serving

HMAC = "hmac-S3CRET-4f9b1c2d7e"
ACCOUNT_HMAC = "acct-S3CRET-8e1f0a3b"
BASIC = ("connect", "basic-S3CRET-71c0d9")
STORE_PASSWORD = "store-S3CRET-b6a2e5"
ENCRYPTION = base64.urlsafe_b64encode(b"encryption-S3CRET-0123456789abcd").decode()
DASHBOARD_TOKEN = "dash-S3CRET-5c8d2e1f"
DASHBOARD_BASIC = ("ops", "dashbasic-S3CRET-93a7")
ACCOUNT = "7ed99888-4cf3-42ad-b3d5-5b0f016a294a"
SECRETS = [
    HMAC,
    ACCOUNT_HMAC,
    BASIC[1],
    STORE_PASSWORD,
    ENCRYPTION,
    DASHBOARD_TOKEN,
    DASHBOARD_BASIC[1],
]


def leaks(text: str, secrets: list[str] = SECRETS) -> list[str]:
    return [secret for secret in secrets if secret in text]


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def schema() -> Iterator[str]:
    require_postgres()
    name = unique_name("secrets")
    yield name
    drop_postgres_schema(name)


def store_uri(schema: str) -> str:
    return f"postgresql://postgres:{STORE_PASSWORD}@127.0.0.1:5432/test?schema={schema}"


def secret_receiver(schema: str) -> Receiver:
    receiver = Receiver(
        hmac_keys=HMAC,
        account_keys={"other-account": ACCOUNT_HMAC},
        basic_auth=BASIC,
        store=store_uri(schema),
        encryptor=Encryptor.from_spec(f"k1:{ENCRYPTION}"),
        mode="inline",
    )

    @receiver.on_envelope_completed
    def fail(delivery: Any) -> None:
        raise RuntimeError("the callback failed")  # logged with its traceback

    return receiver


def asgi(schema: str) -> Client:
    receiver = secret_receiver(schema)
    return ASGIClient(ConnectASGIMiddleware(asgi_echo, receiver=receiver), receiver)


def wsgi(schema: str) -> Client:
    receiver = secret_receiver(schema)
    return WSGIClient(ConnectWSGIMiddleware(wsgi_echo, receiver=receiver), receiver)


def starlette(schema: str) -> Client:
    receiver = secret_receiver(schema)
    return ASGIClient(Starlette(routes=[connect_route(receiver)]), receiver)


def flask(schema: str) -> Client:
    from flask import Flask

    from connect_mw.adapters.flask import Connect

    app = Flask(__name__)
    app.config.update(
        DOCUSIGN_CONNECT_HMAC_KEYS=HMAC,
        DOCUSIGN_CONNECT_BASIC_AUTH=f"{BASIC[0]}:{BASIC[1]}",
        DOCUSIGN_CONNECT_STORE=store_uri(schema),
        DOCUSIGN_CONNECT_MODE="inline",
    )
    return WSGIClient(app, Connect(app).receiver)


def django(schema: str) -> Client:
    from support import django_settings

    django_settings.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from connect_mw.adapters.django.runtime import get_runtime, reset_runtime

    config = {
        "HMAC_KEYS": [HMAC],
        "BASIC_AUTH": BASIC,
        "MODE": "inline",
        "STORE": store_uri(schema),
    }
    with override_settings(CONNECT_MW=config):
        reset_runtime()
        handler = WSGIHandler()
        receiver = get_runtime().receiver
    reset_runtime()
    return WSGIClient(handler, receiver)


def exercise(client: Client) -> list[str]:
    """Good and bad requests; what came back (answers as text)."""
    good = sim_body(status="completed")
    basic = {"authorization": basic_header(*BASIC)}
    wrong = {"authorization": basic_header(BASIC[0], "not-it")}
    cases = [
        (good, {**signed_headers(good, key=HMAC), **basic}),
        (good, {**signed_headers(good, key="wrong"), **basic}),
        (good, {**signed_headers(good, key=HMAC), **wrong}),
        (good, signed_headers(good, key=HMAC)),
        (b"{not json", {**signed_headers(b"{not json", key=HMAC), **basic}),
        (
            good,
            {**signed_headers(good, key=HMAC), **basic, "x-docusign-accountid": "other-account"},
        ),
    ]
    answers = [repr(client.post(PATH, body, headers)) for body, headers in cases]
    answers.append(repr(client.request("GET", PATH, b"", {})))
    return answers


ENTRY_POINTS: list[Callable[[str], Client]] = [asgi, wsgi, starlette, flask, django]


@pytest.mark.parametrize("entry_point", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_entry_points_print_no_secret(
    entry_point: Callable[[str], Client],
    schema: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    client = entry_point(schema)
    try:
        answers = exercise(client)
    finally:
        client.receiver.store.close()
    captured = capsys.readouterr()
    records = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {logging.Formatter().format(r)}"
        for r in caplog.records
    )
    assert "received new" in records or "received" in caplog.text  # the log was exercised
    assert leaks("\n".join(answers) + captured.out + captured.err + records) == []


def test_dashboard_prints_no_secret(schema: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = secret_receiver(schema)
    dashboard = Dashboard(receiver.store, token=DASHBOARD_TOKEN, bind_host="0.0.0.0")
    seen = []
    transport = httpx.ASGITransport(app=dashboard)

    async def browse() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            for url, headers in [
                ("/", {}),
                (f"/?token={DASHBOARD_TOKEN}", {}),
                ("/", {"authorization": f"Bearer {DASHBOARD_TOKEN}"}),
                ("/dead-letters", {"authorization": f"Bearer {DASHBOARD_TOKEN}"}),
                ("/", {"authorization": "Bearer wrong"}),
            ]:
                reply = await web.get(url, headers=headers, follow_redirects=True)
                body = reply.text.replace(f"token={DASHBOARD_TOKEN}", "")
                cookies = " ".join(str(v) for v in reply.cookies.values())
                seen.append(f"{reply.status_code} {dict(reply.headers)} {cookies} {body}")

    import anyio

    try:
        anyio.run(browse)
    finally:
        receiver.store.close()
    assert any(line.startswith("200") for line in seen)
    ours = [r.getMessage() for r in caplog.records if r.name != "httpx"]  # not the test client
    assert leaks("\n".join(seen + ours)) == []


def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@contextmanager
def refusing_oauth() -> Iterator[str]:
    """An OAuth server that refuses every grant (``invalid_grant``): its base URL."""

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            body = b'{"error": "invalid_grant"}'
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        connect_mw(*args),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done.stdout + done.stderr


def test_the_command_line_prints_no_secret(schema: str, tmp_path: Path) -> None:
    pem = private_key_pem()
    pem_lines = [line for line in pem.splitlines() if "PRIVATE KEY" not in line]
    secrets = [*SECRETS, *pem_lines[1:4]]
    store = store_uri(schema)
    serve_args = [
        *("--hmac-key", HMAC, "--account-key", f"other-account={ACCOUNT_HMAC}"),
        *("--basic-auth", f"{BASIC[0]}:{BASIC[1]}", "--store", store),
        *("--encryption-keys", f"k1:{ENCRYPTION}", "--dashboard-token", DASHBOARD_TOKEN),
        *("--log-level", "debug"),
    ]
    outputs = []
    with serving(serve_args, tmp_path, {}, dashboard=True) as server:
        body = sim_body(status="completed")
        auth = {"authorization": basic_header(*BASIC)}
        with httpx.Client(base_url=server.url, follow_redirects=True) as web:
            web.post(PATH, content=body, headers={**signed_headers(body, key=HMAC), **auth})
            web.post(PATH, content=body, headers={**signed_headers(body, key="x"), **auth})
            page = web.get(f"/dashboard/?token={DASHBOARD_TOKEN}")
            outputs.append(page.text.replace(f"token={DASHBOARD_TOKEN}", ""))
            outputs.append(str(dict(page.headers)))
        outputs.append(server.stop())
    query = ["--store", store, "--encryption-keys", f"k1:{ENCRYPTION}"]
    outputs.append(run("envelopes", *query, cwd=tmp_path))
    outputs.append(run("status", "e8b18544-c605-4499-abcf-52209a7f4438", *query, cwd=tmp_path))
    outputs.append(run("dead-letters", "list", *query, cwd=tmp_path))
    down = f"postgresql://postgres:{STORE_PASSWORD}@127.0.0.1:1/test?connect_timeout=1"
    outputs.append(run("status", "X", "--store", down, cwd=tmp_path))  # the store is down
    outputs.append(run("status", "X", "--store", f"unknown://u:{STORE_PASSWORD}@h", cwd=tmp_path))
    outputs.append(run("serve", "--account-key", f"={ACCOUNT_HMAC}", cwd=tmp_path))
    with refusing_oauth() as auth_server:
        rest = [
            *("--integration-key", "ik", "--user-id", "uid", "--private-key", pem),
            *("--auth-server", auth_server),
        ]
        outputs.append(run("failures", *rest, cwd=tmp_path))
        outputs.append(run("reconcile", "--since", "2026-01-01", *rest, *query, cwd=tmp_path))
    everything = "\n".join(outputs)
    assert "connect-mw listening" in everything  # serve did start and log
    assert 'GET /dashboard/?token=*** HTTP/1.1" 303' in everything  # uvicorn's access log
    assert everything.count("invalid_grant") == 2  # both REST commands reached DocuSign
    assert f"postgres:***@127.0.0.1:5432/test?schema={schema}" in everything
    assert leaks(everything, secrets) == []
