"""``manage.py connect_mw_status``, ``connect_mw_envelopes`` and ``connect_mw_events``."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from support import django_settings

django_settings.setup()

from django.core.management import CommandError, call_command  # noqa: E402

from connect_mw.adapters.django import get_receiver  # noqa: E402
from connect_mw.cli.query import envelopes_output, events_output, status_output  # noqa: E402
from connect_mw.effects import drive  # noqa: E402
from connect_mw.recording import record  # noqa: E402
from connect_mw.stores import Store  # noqa: E402
from connect_mw.testing import notification  # noqa: E402


@pytest.fixture
def store() -> Iterator[Store]:
    django_settings.reset_tables()
    store = get_receiver().store
    for key, envelope, status in (
        ("k1", "e1", "sent"),
        ("k2", "e1", "completed"),
        ("k3", "e2", "sent"),
    ):
        drive(record(store, notification(envelope, status), b"{}", key))
    yield store


def manage(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_status_is_the_cli_output(store: Store) -> None:
    text = manage("connect_mw_status", "e1")
    assert text == status_output(store, "e1", as_json=False) + "\n"
    assert "completed" in text.splitlines()[1]
    assert json.loads(manage("connect_mw_status", "e1", "--json"))["status"] == "completed"
    with pytest.raises(CommandError, match="no envelope nope"):
        manage("connect_mw_status", "nope")


def test_envelopes_is_the_cli_output(store: Store) -> None:
    assert manage("connect_mw_envelopes") == envelopes_output(store, None, 20, as_json=False) + "\n"
    lines = manage("connect_mw_envelopes", "--status", "sent", "--json").splitlines()
    assert [json.loads(line)["envelope_id"] for line in lines] == ["e2"]


def test_events_is_the_cli_output(store: Store) -> None:
    text = manage("connect_mw_events", "e1")
    assert text == events_output(store, "e1", as_json=False) + "\n"
    keys = [
        json.loads(line)["key"] for line in manage("connect_mw_events", "e1", "--json").splitlines()
    ]
    assert sorted(keys) == ["k1", "k2"]
    with pytest.raises(CommandError, match="no events for envelope nope"):
        manage("connect_mw_events", "nope")
