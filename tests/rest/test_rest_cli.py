"""``failures``, ``republish`` and ``documents`` on the command line, against the fake."""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connect_mw.errors import ConfigurationError
from connect_mw.rest.cli import add_rest_commands

from .conftest import private_pem
from .fake_data import FakeDocument, envelope_id, make_envelope, make_failure
from .fake_esign import FakeESign

Run = Callable[..., int]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connect-mw")
    add_rest_commands(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.fixture
def cli(
    fake: FakeESign, rsa_key: rsa.RSAPrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Run:
    """Run a command with the fake's settings given as flags (and none in the environment)."""
    for name in (
        "INTEGRATION_KEY",
        "USER_ID",
        "PRIVATE_KEY",
        "ACCOUNT_ID",
        "AUTH_SERVER",
        "BASE_URI",
    ):
        monkeypatch.delenv(f"CONNECT_MW_DOCUSIGN_{name}", raising=False)
    key_file = tmp_path / "docusign.pem"
    key_file.write_text(private_pem(rsa_key))
    flags = [
        "--integration-key",
        fake.grant.integration_key,
        "--user-id",
        fake.grant.user_id,
        "--private-key",
        str(key_file),
        "--auth-server",
        fake.base_url,
    ]

    def run(*argv: str) -> int:
        args = _parser().parse_args([*argv, *flags])
        code: int = args.run(args)
        return code

    return run


def _failures(fake: FakeESign) -> None:
    now = fake.now()
    fake.add(make_envelope(1, "completed", now), make_envelope(2, "sent", now))
    fake.failures += [
        make_failure(1, now - timedelta(hours=3)),
        make_failure(2, now - timedelta(hours=2)),
        make_failure(1, now - timedelta(hours=1), error="HTTP 503"),
    ]


def test_failures_as_a_table_and_as_json(
    fake: FakeESign, cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("failures") == 0
    assert capsys.readouterr().out == "no failed Connect deliveries\n"
    _failures(fake)
    assert cli("failures") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ENVELOPE",
        "STATUS",
        "CREATED",
        "LAST",
        "TRY",
        "RETRIES",
        "ERROR",
        "LISTENER",
    ]
    assert len(lines) == 4 and envelope_id(2) in lines[2] and "HTTP 503" in lines[3]
    assert cli("failures", "--json", "--since", "2000-01-01T00:00Z") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["envelope_id"] for r in rows] == [envelope_id(1), envelope_id(2), envelope_id(1)]
    assert rows[0]["retry_count"] == 2 and "raw" not in rows[0]
    assert fake.api_calls("/connect/failures")[-1].query == {"from_date": "2000-01-01T00:00Z"}


def test_republish_given_envelopes(
    fake: FakeESign, cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    _failures(fake)
    assert cli("republish", envelope_id(2), envelope_id(7)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:2] == [envelope_id(2), "Success"]
    assert lines[2].split()[:2] == [envelope_id(7), "Failure"]
    assert fake.republished == [[envelope_id(2), envelope_id(7)]]


def test_republish_all_failed_with_and_without_dry_run(
    fake: FakeESign, cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    _failures(fake)
    assert cli("republish", "--all-failed", "--dry-run") == 0
    assert (
        capsys.readouterr().out
        == f"would republish 2 envelope(s): {envelope_id(1)} {envelope_id(2)}\n"
    )
    assert fake.republished == []
    assert cli("republish", "--all-failed", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["envelope_id"], r["status"]) for r in rows] == [
        (envelope_id(1), "Success"),
        (envelope_id(2), "Success"),
    ]
    assert fake.republished == [[envelope_id(1), envelope_id(2)]]


def test_republish_needs_ids_or_all_failed(cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("republish") == 2
    assert cli("republish", "x", "--all-failed") == 2
    assert capsys.readouterr().err.count("give envelope ids or --all-failed") == 2


def test_documents_to_a_file(
    fake: FakeESign, cli: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contract, certificate = (
        FakeDocument("1", "Contract.pdf", 300_000),
        FakeDocument("certificate", "Summary.pdf", 20_000, kind="summary"),
    )
    fake.add(make_envelope(1, "completed", fake.now()))
    fake.documents[envelope_id(1)] = [contract, certificate]
    assert cli("documents", envelope_id(1), "--document", "1", "-o", str(tmp_path / "c.pdf")) == 0
    assert hashlib.sha256((tmp_path / "c.pdf").read_bytes()).hexdigest() == contract.digest()
    assert (
        capsys.readouterr().out
        == f"wrote 300000 bytes to {tmp_path / 'c.pdf'} (DocuSign's name: Contract.pdf)\n"
    )
    assert cli("documents", envelope_id(1), "--certificate", "-o", str(tmp_path / "s.pdf")) == 0
    assert (tmp_path / "s.pdf").stat().st_size == 20_000
    assert cli("documents", envelope_id(1), "-o", str(tmp_path / "all.pdf")) == 0
    assert (tmp_path / "all.pdf").stat().st_size == 320_000
    assert [c.path.rsplit("/", 1)[-1] for c in fake.api_calls("/documents/")] == [
        "1",
        "certificate",
        "combined",
    ]


def test_documents_to_stdout(
    fake: FakeESign, cli: Run, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    document = FakeDocument("1", "Contract.pdf", 100_000)
    fake.add(make_envelope(1, "completed", fake.now()))
    fake.documents[envelope_id(1)] = [document]
    assert cli("documents", envelope_id(1), "--document", "1", "-o", "-") == 0
    captured = capsysbinary.readouterr()
    assert hashlib.sha256(captured.out).hexdigest() == document.digest()
    assert captured.err.startswith(b"wrote 100000 bytes to -")


def test_errors_end_with_one_line_and_exit_code_1(
    fake: FakeESign, cli: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("documents", envelope_id(9), "-o", str(tmp_path / "x.pdf")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("connect-mw: DocuSign answered 400 to GET ")
    assert "ENVELOPE_DOES_NOT_EXIST" in err and not (tmp_path / "x.pdf").exists()
    fake.grant.consented = False
    assert cli("failures") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "consent_required" in err and "/oauth/auth?" in err


def test_settings_come_from_the_environment(
    fake: FakeESign,
    rsa_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CONNECT_MW_DOCUSIGN_INTEGRATION_KEY", fake.grant.integration_key)
    monkeypatch.setenv("CONNECT_MW_DOCUSIGN_USER_ID", fake.grant.user_id)
    monkeypatch.setenv("CONNECT_MW_DOCUSIGN_PRIVATE_KEY", private_pem(rsa_key))
    monkeypatch.setenv("CONNECT_MW_DOCUSIGN_AUTH_SERVER", fake.base_url)
    args = _parser().parse_args(["failures"])
    assert args.run(args) == 0
    monkeypatch.delenv("CONNECT_MW_DOCUSIGN_USER_ID")
    with pytest.raises(ConfigurationError, match="CONNECT_MW_DOCUSIGN_USER_ID"):
        args.run(args)


def test_the_commands_load_without_httpx() -> None:
    script = (
        "import sys, argparse\n"
        "import connect_mw.rest.cli as cli\n"
        "cli.add_rest_commands(argparse.ArgumentParser().add_subparsers())\n"
        "print(sorted(m for m in ('httpx', 'httpcore') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
