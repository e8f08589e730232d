"""Periodic reconciliation: ``ReconcileJob`` in a thread, ``worker --reconcile-every``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connect_mw import Receiver
from connect_mw.cli import main
from connect_mw.errors import ConfigurationError
from connect_mw.rest import DocuSignSettings, ReconcileJob
from connect_mw.rest.reconcile import WATERMARK
from connect_mw.stores import MemoryStore, SQLiteStore
from support.polling import wait_until

from .apps import clear_docusign_environment, docusign_flags, installed_app, ledger
from .conftest import private_pem
from .fake_data import envelope_id, make_envelope
from .fake_esign import FakeESign
from .receivers import HMAC_KEY, drain, watch

STATUSES = ["sent", "delivered", "completed", "declined", "voided"]


def _ten_minutes_apart(fake: FakeESign) -> list[datetime]:
    times = [fake.now() - timedelta(minutes=10 * (6 - n)) for n in range(1, 6)]
    fake.add(*(make_envelope(n, STATUSES[n - 1], times[n - 1]) for n in range(1, 6)))
    return times


def _known(receiver: Receiver) -> set[str]:
    return {state.envelope_id for state in receiver.store.list_envelopes()}


def _last_error(job: ReconcileJob) -> str | None:
    return job.last_error


def test_the_job_reconciles_every_interval_until_stopped(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    times = _ten_minutes_apart(fake)
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore())
    calls = watch(receiver)
    job = ReconcileJob(receiver, settings, every=0.05, since=times[0] - timedelta(minutes=1))
    stop = threading.Event()
    thread = job.start(stop)
    try:
        wait_until(lambda: len(_known(receiver)) == 5, what="the first run")
        fake.add(make_envelope(6, "completed", fake.now()))
        wait_until(lambda: envelope_id(6) in _known(receiver), what="a later run")
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert job.runs >= 2 and job.failures == 0 and job.last_report is not None
    assert receiver.store.read_marker(WATERMARK) == job.last_report.watermark
    runs = job.runs
    time.sleep(0.2)
    assert job.runs == runs  # stopped means stopped
    drain(receiver)
    assert "envelope-completed" in calls.of(envelope_id(6))
    assert len(calls.transitions) == len(set(calls.transitions))


def test_a_failing_run_is_logged_and_the_job_carries_on(
    fake: FakeESign, settings: DocuSignSettings, caplog: pytest.LogCaptureFixture
) -> None:
    times = _ten_minutes_apart(fake)
    fake.grant.consented = False
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore())
    job = ReconcileJob(receiver, settings, every=0.05, since=times[0])
    stop = threading.Event()
    thread = job.start(stop)
    try:
        wait_until(lambda: job.failures >= 2, what="failed runs")
        assert job.last_error is not None and "consent_required" in job.last_error
        assert _known(receiver) == set()
        fake.grant.consented = True
        wait_until(lambda: len(_known(receiver)) == 5, what="a run after consent")
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive() and _last_error(job) is None
    assert "reconciliation failed: DocuSign answered consent_required" in caplog.text


def test_a_job_without_a_start_or_a_watermark_fails_each_run(
    fake: FakeESign, settings: DocuSignSettings
) -> None:
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore())
    job = ReconcileJob(receiver, settings, every=60)
    assert job.run_once() is None
    assert job.last_error is not None and "give the first run a start" in job.last_error
    assert fake.api_calls() == []
    with pytest.raises(ConfigurationError, match="positive"):
        ReconcileJob(receiver, settings, every=0)


@pytest.fixture
def flags(
    fake: FakeESign, rsa_key: rsa.RSAPrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    clear_docusign_environment(monkeypatch)
    return docusign_flags(fake, rsa_key, tmp_path)


def test_worker_once_reconciles_then_processes_a_batch(
    fake: FakeESign,
    flags: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    times = _ten_minutes_apart(fake)
    with installed_app(tmp_path, monkeypatch, "rest_worker_once_app") as app:
        since = ["--reconcile-since", times[0].isoformat()]
        argv = ["worker", app, "--once", "--concurrency", "8", "--reconcile-every", "60"]
        assert main([*argv, *since, *flags]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("reconciled ") and "found 5, new 5" in out[0]
    assert out[1] == "processed 5 event(s)"
    assert f"{envelope_id(3)} envelope-completed" in ledger(tmp_path)
    with SQLiteStore(tmp_path / "app.sqlite3") as store:
        assert store.read_marker(WATERMARK) is not None


def test_worker_refuses_to_start_without_a_watermark_or_a_start(
    fake: FakeESign,
    flags: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with installed_app(tmp_path, monkeypatch, "rest_worker_refuse_app") as app:
        assert main(["worker", app, "--once", "--reconcile-every", "60", *flags]) == 2
        assert "--reconcile-since" in capsys.readouterr().err
        assert main(["worker", app, "--once", "--reconcile-every", "60"]) == 2
        assert "CONNECT_MW_DOCUSIGN_INTEGRATION_KEY" in capsys.readouterr().err
    assert fake.api_calls() == []


def test_worker_once_reports_a_failed_reconciliation(
    fake: FakeESign,
    flags: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.grant.consented = False
    with installed_app(tmp_path, monkeypatch, "rest_worker_failing_app") as app:
        argv = ["worker", app, "--once", "--reconcile-every", "60"]
        assert main([*argv, "--reconcile-since", "2024-05-01", *flags]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("connect-mw: reconciliation failed: DocuSign answered")
    assert captured.out == "processed 0 event(s)\n"


def test_the_worker_process_reconciles_and_stops_cleanly(
    fake: FakeESign, rsa_key: rsa.RSAPrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    times = _ten_minutes_apart(fake)
    with installed_app(tmp_path, monkeypatch, "rest_worker_process_app") as app:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CONNECT_MW_")},
            "CONNECT_MW_DOCUSIGN_INTEGRATION_KEY": fake.grant.integration_key,
            "CONNECT_MW_DOCUSIGN_USER_ID": fake.grant.user_id,
            "CONNECT_MW_DOCUSIGN_PRIVATE_KEY": private_pem(rsa_key),
            "CONNECT_MW_DOCUSIGN_AUTH_SERVER": fake.base_url,
        }
        command = [
            *(sys.executable, "-m", "connect_mw", "--log-level", "warning", "worker", app),
            *("--poll-interval", "0.05", "--reconcile-every", "0.2"),
            *("--reconcile-since", times[0].isoformat()),
        ]
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE)
        try:
            wait_until(
                lambda: f"{envelope_id(5)} envelope-voided" in ledger(tmp_path),
                what="the callbacks of what the worker reconciled",
            )
            fake.add(make_envelope(6, "completed", fake.now()))
            wait_until(
                lambda: f"{envelope_id(6)} envelope-completed" in ledger(tmp_path),
                what="a later run",
            )
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, err.decode()
    fired = ledger(tmp_path)
    assert len(fired) == len(set(fired))
