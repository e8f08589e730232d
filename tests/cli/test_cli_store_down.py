"""A store whose server is down ends every command that needs it with one redacted line and
exit status 1, before anything else happens (``serve`` never says it is listening)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connect_mw.cli import main
from support.servers import free_port

SECRET = "S3cretPW-down"
URIS = {
    "postgres": "postgresql://app:{secret}@127.0.0.1:{port}/events",
    "redis": "redis://:{secret}@127.0.0.1:{port}/0",
}
DRIVERS = {"postgres": "psycopg", "redis": "redis"}
COMMANDS = [
    ["status", "env-1"],
    ["envelopes"],
    ["events", "env-1"],
    ["replay", "some-key"],
    ["dead-letters", "list"],
    ["dead-letters", "retry", "--all"],
    ["purge"],
]


@pytest.fixture(params=sorted(URIS))
def uri(request: pytest.FixtureRequest) -> str:
    pytest.importorskip(DRIVERS[request.param])
    return URIS[request.param].format(secret=SECRET, port=free_port())


@pytest.fixture
def app(uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``down_app:receiver``: a receiver with a callback, on the store that is down."""
    (tmp_path / "down_app.py").write_text(
        "from connect_mw import Receiver\n"
        f"receiver = Receiver(hmac_keys='k', store={uri!r})\n"
        "receiver.on_any(lambda delivery: None)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "down_app", raising=False)
    yield "down_app:receiver"
    sys.modules.pop("down_app", None)


def assert_one_redacted_line(
    status: int, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> str:
    captured = capsys.readouterr()
    written = captured.out + captured.err + caplog.text
    caplog.clear()
    assert status == 1, written
    assert SECRET not in written
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("connect-mw: the store is unavailable: ") and "did not answer" in line
    return line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_store_commands(
    command: list[str],
    uri: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = assert_one_redacted_line(main([*command, "--store", uri]), capsys, caplog)
    assert "127.0.0.1" in line and ":***@" in line


def test_serve(
    uri: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    argv = ["serve", "--store", uri, "--hmac-key", "k", "--port", str(free_port())]
    status = main(argv)
    assert "listening" not in caplog.text
    assert_one_redacted_line(status, capsys, caplog)


def test_worker_serve_and_queries_of_an_app(
    app: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert_one_redacted_line(main(["worker", app, "--once"]), capsys, caplog)
    argv = ["serve", "--app", app, "--port", str(free_port())]
    assert_one_redacted_line(main(argv), capsys, caplog)
    assert_one_redacted_line(main(["envelopes", "--app", app]), capsys, caplog)


def test_the_probe_timeout_is_configurable(
    uri: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECT_MW_PROBE_TIMEOUT", "never")
    assert main(["envelopes", "--store", uri]) == 2
    assert "CONNECT_MW_PROBE_TIMEOUT must be a number of seconds" in capsys.readouterr().err
    monkeypatch.setenv("CONNECT_MW_PROBE_TIMEOUT", "inf")
    assert main(["envelopes", "--store", uri]) == 2
    assert "CONNECT_MW_PROBE_TIMEOUT must be a number of seconds" in capsys.readouterr().err
    monkeypatch.setenv("CONNECT_MW_PROBE_TIMEOUT", "2.5")
    assert main(["envelopes", "--store", uri]) == 1
    assert "did not answer" in capsys.readouterr().err
