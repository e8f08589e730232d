"""The Flask extension: configuration from ``app.config``, callbacks in the app context."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, current_app
from werkzeug.test import Client

from connect_mw import ConfigurationError, Delivery, MemoryStore, Receiver
from connect_mw.adapters.flask import Connect, options_from_config
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware
from support.deliveries import ACCOUNT, KEY, PATH, signed_headers, sim_body
from support.polling import wait_until

ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"


def make_app(name: str = "app", **config: Any) -> Flask:
    app = Flask(name)
    app.config.update(DOCUSIGN_CONNECT_HMAC_KEYS=KEY, DOCUSIGN_CONNECT_STORE="memory://", **config)
    return app


def deliver(app: Flask, path: str = PATH) -> int:
    body = sim_body(status="completed")
    return Client(app).post(path, data=body, headers=signed_headers(body)).status_code


def test_options_from_config_converts_every_key() -> None:
    options = options_from_config(
        {
            "DOCUSIGN_CONNECT_HMAC_KEYS": " new, old ,",
            "DOCUSIGN_CONNECT_ACCOUNT_KEYS": {ACCOUNT: ["a"]},
            "DOCUSIGN_CONNECT_PATH": "/hooks/ds",
            "DOCUSIGN_CONNECT_STORE": "memory://",
            "DOCUSIGN_CONNECT_MAX_BODY_SIZE": "1024",
            "DOCUSIGN_CONNECT_READ_TIMEOUT": 5,
            "DOCUSIGN_CONNECT_BASIC_AUTH": "user:pa:ss",
            "DOCUSIGN_CONNECT_ALLOW_UNAUTHENTICATED": "false",
            "DOCUSIGN_CONNECT_MODE": "inline",
            "DOCUSIGN_CONNECT_RUN_WORKER": False,
            "UNRELATED": 1,
        }
    )
    assert options == {
        "hmac_keys": ["new", "old"],
        "account_keys": {ACCOUNT: ["a"]},
        "path": "/hooks/ds",
        "store": "memory://",
        "max_body_size": 1024,
        "read_timeout": 5.0,
        "basic_auth": ("user", "pa:ss"),
        "allow_unauthenticated": False,
        "mode": "inline",
        "run_worker": False,
    }
    assert options_from_config({"DOCUSIGN_CONNECT_HMAC_KEYS": ["k1", "k2"]}) == {
        "hmac_keys": ["k1", "k2"]
    }
    assert options_from_config({"DOCUSIGN_CONNECT_BASIC_AUTH": ("u", "p")}) == {
        "basic_auth": ("u", "p")
    }


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DOCUSIGN_CONNECT_ACCOUNT_KEYS", "acct=key"),
        ("DOCUSIGN_CONNECT_MAX_BODY_SIZE", "64MB"),
        ("DOCUSIGN_CONNECT_BASIC_AUTH", "no-colon"),
        ("DOCUSIGN_CONNECT_ALLOW_UNAUTHENTICATED", "maybe"),
        ("DOCUSIGN_CONNECT_HMAC_KEYS", 42),
    ],
)
def test_bad_config_values_name_their_key(key: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=key):
        options_from_config({key: value})


def test_init_app_wraps_the_app_and_registers_itself() -> None:
    app = make_app(DOCUSIGN_CONNECT_PATH="/ds", DOCUSIGN_CONNECT_MODE="inline")
    connect = Connect(app)
    assert app.extensions["connect_mw"] is connect
    assert isinstance(app.wsgi_app, ConnectWSGIMiddleware)
    assert app.wsgi_app.receiver is connect.receiver
    assert deliver(app, "/ds") == 200
    assert len(connect.receiver.store.list_events(ENVELOPE)) == 1


def test_missing_keys_refuse_to_start() -> None:
    with pytest.raises(ConfigurationError, match="no authentication"):
        Connect(Flask("bare"))


def test_callbacks_run_in_the_app_context_before_and_after_init_app() -> None:
    connect = Connect()
    seen: list[tuple[str, str]] = []

    @connect.on_envelope_completed
    def early(delivery: Delivery) -> None:
        seen.append(("early", current_app.name))

    app = make_app("first", DOCUSIGN_CONNECT_MODE="inline")
    connect.init_app(app)

    @connect.on_any
    def late(delivery: Delivery) -> None:
        seen.append(("late", current_app.name))

    assert deliver(app) == 200
    assert seen == [("early", "first"), ("late", "first")]


def test_each_app_gets_its_own_receiver_with_every_callback() -> None:
    connect = Connect(mode="inline")
    seen: list[str] = []
    connect.on_envelope_completed(lambda delivery: seen.append(current_app.name))
    first, second = make_app("first"), make_app("second")
    connect.init_app(first)
    first_receiver = connect.receiver
    connect.init_app(second)
    assert connect.receiver is not first_receiver
    assert deliver(second) == 200 and deliver(first) == 200
    assert seen == ["second", "first"]


def test_a_given_receiver_is_used_as_is() -> None:
    receiver = Receiver(hmac_keys=KEY, store=MemoryStore(), mode="inline")
    connect = Connect(receiver=receiver)
    seen: list[Delivery] = []
    connect.on_any(seen.append)
    app = Flask("given")
    connect.init_app(app)
    assert connect.receiver is receiver
    assert deliver(app) == 200
    assert [d.envelope_id for d in seen] == [ENVELOPE]
    with pytest.raises(TypeError):
        Connect(receiver=receiver, mode="inline")


def test_the_receiver_exists_only_after_init_app() -> None:
    with pytest.raises(RuntimeError, match="init_app"):
        _ = Connect().receiver


def test_a_bad_transition_kind_fails_at_registration() -> None:
    with pytest.raises(ValueError, match="kind"):
        Connect().on_transition("document", "completed")


def test_deferred_mode_runs_callbacks_in_the_worker_thread_with_the_app_context() -> None:
    connect = Connect()
    seen: list[str] = []
    connect.on_envelope_completed(lambda delivery: seen.append(current_app.name))
    app = make_app("deferred")
    connect.init_app(app)
    assert isinstance(app.wsgi_app, ConnectWSGIMiddleware)
    thread = app.wsgi_app.worker_thread
    assert thread is not None
    try:
        assert deliver(app) == 200
        wait_until(lambda: seen == ["deferred"], what="the worker thread to run the callback")
    finally:
        thread.stop()


def test_run_worker_false_leaves_processing_to_separate_workers() -> None:
    app = make_app(DOCUSIGN_CONNECT_RUN_WORKER="0")
    Connect(app)
    assert isinstance(app.wsgi_app, ConnectWSGIMiddleware)
    assert app.wsgi_app.worker_thread is None
