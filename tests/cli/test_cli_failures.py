"""The command line fails with one line naming what to do, and a documented exit status."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from connect_mw import SQLiteStore
from connect_mw.cli import main
from support.deliveries import KEY
from support.serving import connect_mw, free_port

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``connect-mw ARGS`` in a process where ``module`` cannot be imported."""
    script = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from connect_mw.cli import main\n"
        f"sys.exit(main({list(args)!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("psycopg", ["serve", "--store", POSTGRES, "--hmac-key", KEY], "postgres"),
        ("psycopg", ["envelopes", "--store", POSTGRES], "postgres"),
        ("redis", ["events", "X", "--store", "redis://127.0.0.1:6379/0"], "redis"),
        ("uvicorn", ["serve", "--hmac-key", KEY, "--store", "memory://"], "server"),
    ],
)
def test_a_missing_driver_names_the_extra(module: str, args: list[str], extra: str) -> None:
    done = without(module, *args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"pip install 'connect-mw[{extra}]'" in line


def test_a_busy_port_is_one_line_before_listening(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = subprocess.run(
            connect_mw("serve", "--port", str(port), "--hmac-key", KEY, "--store", "memory://"),
            cwd=tmp_path,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 3
    assert "listening" not in done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"cannot listen on 127.0.0.1:{port}" in line and "already in use" in line


def test_errors_name_flags_not_parameters(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONNECT_MW_HMAC_KEYS", raising=False)
    assert main(["serve", "--store", "memory://"]) == 2
    err = capsys.readouterr().err
    assert "--hmac-key" in err and "--allow-unauthenticated" in err
    assert "hmac_keys" not in err and "allow_unauthenticated" not in err
    assert main(["event-notification", "--url", "http://example.com/hook"]) == 2
    err = capsys.readouterr().err
    assert "--allow-http" in err and "allow_http" not in err
    assert main(["serve", "--hmac-key", KEY, "--store", "memory://", "--path", "x"]) == 2
    assert "--path" in capsys.readouterr().err


def test_an_account_key_error_does_not_print_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--store", "memory://", "--account-key", "=S3cretAccountKey"]) == 2
    err = capsys.readouterr().err
    assert "--account-key takes ACCOUNT=KEY" in err and "S3cretAccountKey" not in err


def closed_pipe_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``connect-mw ARGS`` with stdout a pipe whose reader is already gone (``| head``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            connect_mw(*args),
            cwd=cwd,
            check=False,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["event-notification", "--url", "https://example.com/hook"], 141),
        (["envelopes", "--store", "sqlite:///events.db"], 141),
        (["status", "--help"], 0),  # argparse drops help it cannot write
    ],
)
def test_a_closed_pipe_is_no_traceback(args: list[str], status: int, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "events.db") as store:
        store.list_envelopes()
    done = closed_pipe_run(*args, cwd=tmp_path)
    assert "BrokenPipeError" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode == status


def test_status_on_a_missing_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in (["status", "X"], ["envelopes"], ["events", "X"], ["dead-letters", "list"]):
        assert main([*command, "--store", "sqlite:///missing.db"]) == 2
        err = capsys.readouterr().err
        assert f"no database at {tmp_path.resolve() / 'missing.db'}" in err
    assert not (tmp_path / "missing.db").exists()


def _damaged_store(tmp_path: Path) -> tuple[Path, str]:
    """A SQLite file holding one envelope whose stored state does not decode."""
    from connect_mw import Receiver
    from support.deliveries import signed_request, sim_body
    from support.stored_state import overwrite_sqlite

    envelope = "e8b18544-c605-4499-abcf-52209a7f4438"
    path = tmp_path / "events.sqlite3"
    store = SQLiteStore(path)
    assert Receiver(hmac_keys=KEY, store=store).handle(signed_request(sim_body())).status == 200
    overwrite_sqlite(store, envelope, '{"envelope_id": 7}')
    store.close()
    return path, envelope


def test_a_stored_state_that_does_not_decode_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, envelope = _damaged_store(tmp_path)
    assert main(["status", envelope, "--store", f"sqlite:///{path}"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "StoreEncodingError" in err and "does not decode" in err


def test_a_listing_leaves_a_state_that_does_not_decode_out_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    path, envelope = _damaged_store(tmp_path)
    assert main(["envelopes", "--store", f"sqlite:///{path}"]) == 0
    assert envelope not in capsys.readouterr().out
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and envelope in warnings[0] and "does not decode" in warnings[0]
