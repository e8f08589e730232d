"""``connect-mw reconcile`` end to end against the fake (``main(argv)`` and a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connect_mw.cli import main
from connect_mw.rest.reconcile import WATERMARK, marker_value
from connect_mw.stores import SQLiteStore

from .apps import clear_docusign_environment, docusign_flags, installed_app, ledger
from .conftest import private_pem
from .fake_data import envelope_id, make_envelope
from .fake_esign import FakeESign

STATUSES = ["sent", "delivered", "completed", "declined", "voided"]
Run = Callable[..., int]


def _ten_minutes_apart(fake: FakeESign) -> list[datetime]:
    times = [fake.now() - timedelta(minutes=10 * (6 - n)) for n in range(1, 6)]
    fake.add(*(make_envelope(n, STATUSES[n - 1], times[n - 1]) for n in range(1, 6)))
    return times


@pytest.fixture
def cli(
    fake: FakeESign, rsa_key: rsa.RSAPrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Run:
    """``connect-mw ARGS… <DocuSign flags>``; returns the exit status."""
    clear_docusign_environment(monkeypatch)
    flags = docusign_flags(fake, rsa_key, tmp_path)

    def run(*argv: str) -> int:
        return main([*argv, *flags])

    return run


def _store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'connect-mw.sqlite3'}"


def test_a_first_run_records_what_changed_and_prints_it(
    fake: FakeESign, cli: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    times = _ten_minutes_apart(fake)
    since = times[0] - timedelta(minutes=1)
    assert cli("reconcile", "--store", _store(tmp_path), "--since", since.isoformat()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"window      {since.isoformat()} .. ")
    assert lines[1:4] == [
        "found       5 envelope(s)",
        "new         5 (already recorded: 0)",
        "fired       35 transition(s)",
    ]
    completed = next(line for line in lines if envelope_id(3) in line).split()
    assert completed[1:5] == [
        "envelope-created",
        "envelope-sent",
        "envelope-delivered",
        "envelope-completed",
    ]
    assert lines[-1].startswith("watermark   ")
    with SQLiteStore(tmp_path / "connect-mw.sqlite3") as store:
        assert len(store.list_envelopes()) == 5
        assert store.read_marker(WATERMARK) == lines[-1].split()[1]


def test_the_next_run_resumes_from_the_watermark(
    fake: FakeESign, cli: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    times = _ten_minutes_apart(fake)
    store = _store(tmp_path)
    assert cli("reconcile", "--store", store, "--since", times[0].isoformat()) == 0
    capsys.readouterr()
    fake.add(make_envelope(6, "completed", fake.now()))
    assert cli("reconcile", "--store", store, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["found"], report["new"], report["envelopes"]) == (1, 1, [envelope_id(6)])
    assert {t["name"] for t in report["transitions"]} >= {"envelope-completed"}
    assert report["dry_run"] is False and report["watermark"] is not None


def test_a_dry_run_records_nothing(
    fake: FakeESign, cli: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    times = _ten_minutes_apart(fake)
    until = fake.now()
    argv = ["--since", times[0].isoformat(), "--until", until.isoformat(), "--dry-run"]
    assert cli("reconcile", "--store", _store(tmp_path), *argv) == 0
    out = capsys.readouterr().out
    assert "found       5 envelope(s)" in out and "dry run     nothing recorded" in out
    assert "\nwatermark" not in out
    with SQLiteStore(tmp_path / "connect-mw.sqlite3") as store:
        assert store.list_envelopes() == [] and store.read_marker(WATERMARK) is None
    assert fake.api_calls("/envelopes")[0].query["to_date"].startswith(until.isoformat()[:19])


def test_with_app_the_receivers_pipeline_records_and_its_callbacks_fire(
    fake: FakeESign,
    cli: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    times = _ten_minutes_apart(fake)
    with installed_app(tmp_path, monkeypatch, "rest_inline_app", mode="inline") as app:
        assert cli("reconcile", "--app", app, "--since", times[0].isoformat()) == 0
        assert cli("reconcile", "--app", app, "--since", times[0].isoformat()) == 0
    out = capsys.readouterr().out
    assert "new         0 (already recorded: 5)" in out  # the second run
    fired = ledger(tmp_path)
    assert f"{envelope_id(3)} envelope-completed" in fired
    assert len(fired) == len(set(fired)) == 15  # each envelope transition once


def test_errors_end_with_one_line(
    fake: FakeESign, cli: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store(tmp_path)
    assert cli("reconcile", "--store", store) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give the first run a start" in err
    assert cli("reconcile", "--store", store, "--since", "yesterday") == 2
    assert capsys.readouterr().err == "connect-mw: --since: not an ISO 8601 time: 'yesterday'\n"
    assert cli("reconcile", "--store", store, "--since", "2024-05-02", "--until", "2024-05-01") == 2
    assert "nothing to reconcile" in capsys.readouterr().err
    fake.grant.consented = False
    assert cli("reconcile", "--store", store, "--since", "2024-05-01") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "consent_required" in err and "/oauth/auth?" in err
    fake.grant.consented = True
    fake.fail("/envelopes", 400, {"errorCode": "INVALID_REQUEST_PARAMETER", "message": "bad"})
    assert cli("reconcile", "--store", store, "--since", "2024-05-01") == 1
    assert capsys.readouterr().err.startswith(
        "connect-mw: DocuSign answered 400 to GET /restapi/v2.1/accounts/"
    )
    with SQLiteStore(tmp_path / "connect-mw.sqlite3") as opened:
        assert opened.read_marker(WATERMARK) is None


def test_the_installed_command(fake: FakeESign, rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    times = _ten_minutes_apart(fake)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONNECT_MW_")},
        "CONNECT_MW_DOCUSIGN_INTEGRATION_KEY": fake.grant.integration_key,
        "CONNECT_MW_DOCUSIGN_USER_ID": fake.grant.user_id,
        "CONNECT_MW_DOCUSIGN_PRIVATE_KEY": private_pem(rsa_key),
        "CONNECT_MW_DOCUSIGN_AUTH_SERVER": fake.base_url,
        "CONNECT_MW_STORE": _store(tmp_path),
    }
    since = marker_value(times[0])
    command = [sys.executable, "-m", "connect_mw", "reconcile", "--since", since, "--json"]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["new"] == 5
