"""Numeric flags and ``CONNECT_MW_*`` numbers: checked, refused in one line, per command.

NaN, infinities, numbers out of range and text are refused with exit status 2 and one line on
stderr naming the flag (and its environment variable, when it has one); an invalid
environment number fails only the command that reads it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from connect_mw.cli import main
from support.deliveries import KEY


@pytest.fixture(autouse=True)
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``serve`` that got past its checks would start uvicorn: fail at once instead."""
    uvicorn = pytest.importorskip("uvicorn")

    def refuse(app: object, **options: object) -> None:
        raise AssertionError("serve started although a flag was invalid")

    monkeypatch.setattr(uvicorn, "run", refuse)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A receiver module of this test's own (a module name imported before is cached).

    It has a callback: a worker refuses a receiver without one (unless ``--drain``).
    """
    module = f"number_hooks_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(
        "from connect_mw import Receiver\n"
        f"receiver = Receiver(hmac_keys='k', store='sqlite:///{tmp_path / 'events.sqlite3'}')\n"
        "receiver.on_any(lambda delivery: None)\n"
    )
    monkeypatch.chdir(tmp_path)
    return f"{module}:receiver"


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one stderr line of a command refused with exit status 2."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert status == 2, (argv, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("connect-mw:"), (argv, err)
    assert "Traceback" not in err
    return lines[0]


BAD_NUMBERS = ["nan", "inf", "-inf", "1e300", "-1", "abc"]


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_purge_refuses_a_bad_age(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    assert "--older-than" in refused(["purge", "--store", store, f"--older-than={value}"], capsys)


SERVE_FLAGS = {
    "--port": ["70000", "0", "nan", "8000.5", "abc"],
    "--max-body-size": ["0", "-5", "nan", "1e300"],
    "--lease-seconds": [*BAD_NUMBERS, "0"],
    "--purge-every": BAD_NUMBERS,
    "--retention-days": BAD_NUMBERS,
}


@pytest.mark.parametrize(
    ("flag", "value"), [(flag, value) for flag, values in SERVE_FLAGS.items() for value in values]
)
def test_serve_refuses_a_bad_number(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--hmac-key", KEY, "--store", "memory://", f"{flag}={value}"]
    assert flag in refused(argv, capsys)


WORKER_FLAGS = {
    "--reconcile-every": ["1e300", "nan", "inf", "0", "-1"],
    "--poll-interval": ["nan", "inf", "0", "1e300"],
    "--shutdown-timeout": ["nan", "inf", "-1", "1e300"],
    "--purge-every": ["nan", "inf", "1e300"],
    "--concurrency": ["0", "-1", "nan", "1000000"],
}


@pytest.mark.parametrize(
    ("flag", "value"), [(flag, value) for flag, values in WORKER_FLAGS.items() for value in values]
)
def test_worker_refuses_a_bad_number(
    flag: str, value: str, app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert flag in refused(["worker", app, "--once", f"{flag}={value}"], capsys)


SERVE_ENVIRONMENT = {
    "CONNECT_MW_PORT": "http",
    "CONNECT_MW_MAX_BODY_SIZE": "lots",
    "CONNECT_MW_LEASE_SECONDS": "nan",
    "CONNECT_MW_PURGE_EVERY": "inf",
    "CONNECT_MW_RETENTION_DAYS": "-3",
    "CONNECT_MW_OAUTH_LEEWAY": "soon",
    "CONNECT_MW_OAUTH_JWKS_TTL": "0",
    "CONNECT_MW_OAUTH_JWKS_MIN_INTERVAL": "nan",
}


@pytest.mark.parametrize(("name", "value"), sorted(SERVE_ENVIRONMENT.items()))
def test_a_bad_environment_number_fails_only_the_command_using_it(
    name: str,
    value: str,
    app: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(name, value)
    store = "sqlite:///events.sqlite3"  # the app's, in the working directory
    assert main(["worker", app, "--once"]) == 0  # creates the store, reads no serve setting
    assert main(["envelopes", "--store", store]) == 0
    assert main(["purge", "--store", store]) == 0
    capsys.readouterr()
    line = refused(["serve", "--hmac-key", KEY, "--store", "memory://"], capsys)
    assert name in line


SIMULATE_FLAGS = {
    "--envelopes": ["0", "nan", "2.5"],
    "--duplicates": ["nan", "inf", "1.5", "-0.1"],
    "--concurrency": ["0", "1000000"],
    "--max-attempts": ["0", "inf"],
    "--retry-delay": ["nan", "-1", "1e300"],
    "--timeout": ["nan", "inf", "0"],
    "--document-size": ["-1", "lots"],
}


@pytest.mark.parametrize(
    ("flag", "value"),
    [(flag, value) for flag, values in SIMULATE_FLAGS.items() for value in values],
)
def test_simulate_refuses_a_bad_number(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--url", "http://127.0.0.1:9", "--hmac-key", KEY, f"{flag}={value}"]
    assert flag in refused(argv, capsys)


@pytest.mark.parametrize(
    "setting", [("CONNECT_MW_LOG_LEVEL", "verbose"), ("CONNECT_MW_LOG_FORMAT", "xml")]
)
@pytest.mark.parametrize("command", ["worker", "serve"])
def test_a_bad_log_setting_in_the_environment_is_refused_in_one_line(
    setting: tuple[str, str],
    command: str,
    app: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name, value = setting
    monkeypatch.setenv(name, value)
    argv = ["worker", app, "--once"] if command == "worker" else ["serve", "--hmac-key", KEY]
    line = refused(argv, capsys)
    assert name in line and value in line


def test_log_settings_in_the_environment_ignore_case(
    app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connect_mw.cli import build_parser

    monkeypatch.setenv("CONNECT_MW_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("CONNECT_MW_LOG_FORMAT", "JSON")
    args = build_parser().parse_args(["worker", app])
    assert (args.command_log_level, args.log_format) == ("warning", "json")


def test_the_global_log_level_ignores_case(app: str) -> None:
    from connect_mw.cli import build_parser

    assert build_parser().parse_args(["--log-level", "DEBUG", "worker", app]).log_level == "debug"
