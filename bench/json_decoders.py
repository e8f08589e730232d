"""What a typed JSON model would buy, by measurement (issue 13, "a typed model decoded in C").

Compares, on the project's JSON fixtures and the benchmark's 2.2 KB SIM body:

* ``json.loads``: the stdlib, plain;
* ``load_object``: today's strict loader (a ``json.JSONDecoder`` built once, with hooks
  rejecting duplicate keys, ``NaN``, huge numbers);
* ``parse()``: today's whole JSON path, strict load plus mapping to the dataclass model;
* ``orjson.loads``: a C decoder to dicts;
* ``msgspec`` untyped: ``msgspec.json.decode`` to dicts;
* ``msgspec`` typed: ``msgspec.json.decode(body, type=SimMessage)`` into a prototype of the
  SIM model as ``msgspec.Struct`` classes (below; camelCase renamed, unknown fields
  skipped, times kept as strings as the key derivation needs them).

Also prints how each decoder treats what the strict loader refuses (a key twice, ``NaN``, a
1e400 float, a 40-digit integer), since a move must keep the refusals or say why not.
Run: ``.venv/bin/python bench/json_decoders.py`` (installs msgspec and orjson into the
running environment if missing).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bodies

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _ensure(*modules: str) -> None:
    missing = []
    for name in modules:
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)


_ensure("msgspec", "orjson")

import msgspec  # noqa: E402
import orjson  # noqa: E402


class _Base(msgspec.Struct, rename="camel", frozen=True, omit_defaults=True):
    """Prototype model base: camelCase on the wire, unknown fields ignored."""


class Signer(_Base):
    """A recipient as SIM's envelopeSummary lists it."""

    recipient_id: str
    status: str | None = None
    email: str | None = None
    name: str | None = None
    routing_order: str | int | None = None
    recipient_id_guid: str | None = None
    sent_date_time: str | None = None
    delivered_date_time: str | None = None
    signed_date_time: str | None = None


class Recipients(_Base):
    """The recipients of a summary, by type."""

    signers: tuple[Signer, ...] = ()
    carbon_copies: tuple[Signer, ...] = ()


class Sender(_Base):
    """Who sent the envelope."""

    user_name: str | None = None
    email: str | None = None
    user_id: str | None = None


class Summary(_Base):
    """SIM's envelopeSummary."""

    status: str | None = None
    email_subject: str | None = None
    created_date_time: str | None = None
    sent_date_time: str | None = None
    delivered_date_time: str | None = None
    completed_date_time: str | None = None
    status_changed_date_time: str | None = None
    sender: Sender | None = None
    recipients: Recipients | None = None


class Data(_Base):
    """SIM's data object."""

    envelope_id: str | None = None
    account_id: str | None = None
    user_id: str | None = None
    recipient_id: str | None = None
    envelope_summary: Summary | None = None


class SimMessage(_Base):
    """One SIM message."""

    event: str
    generated_date_time: str | None = None
    retry_count: int | str | None = None
    configuration_id: int | str | None = None
    api_version: str | None = None
    data: Data | None = None


def decoders() -> dict[str, Callable[[bytes], object]]:
    """Each candidate, as a function of the body."""
    import json  # noqa: PLC0415

    from connect_mw.parse import parse  # noqa: PLC0415
    from connect_mw.parse.json_load import load_object  # noqa: PLC0415

    typed = msgspec.json.Decoder(SimMessage)
    untyped = msgspec.json.Decoder()
    return {
        "json.loads": json.loads,
        "load_object (today, strict)": load_object,
        "parse() (today, whole path)": parse,
        "orjson.loads": orjson.loads,
        "msgspec untyped": untyped.decode,
        "msgspec typed (prototype)": typed.decode,
    }


def best(function: Callable[[bytes], object], body: bytes, runs: int) -> float:
    """Best wall time of ``runs`` calls, in microseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function(body)
        times.append(time.perf_counter() - started)
    return min(times) * 1e6


def _timed(function: Callable[[bytes], object], body: bytes) -> str:
    try:
        return f"{best(function, body, 2000):.1f}"
    except Exception as exc:
        return f"refused: {str(exc)[:60]}"


def _outcome(function: Callable[[bytes], object], body: bytes) -> str:
    try:
        value: Any = function(body)
    except Exception as exc:
        return f"refused ({type(exc).__name__})"
    return f"accepted: {str(value)[:24]}"


REFUSALS = {
    "a key twice": b'{"event":"a","event":"envelope-sent"}',
    "NaN": b'{"event":"envelope-sent","retryCount":NaN}',
    "1e400": b'{"event":"envelope-sent","retryCount":1e400}',
    "40-digit integer": b'{"event":"envelope-sent","retryCount":' + b"9" * 40 + b"}",
}


def main() -> int:
    """Print both tables (Markdown)."""
    candidates = decoders()
    samples = {p.name: p.read_bytes() for p in sorted(FIXTURES.glob("sim_*.json"))}
    samples["bench SIM 2.2 KB"] = bodies.json_body(1)
    print("| body | bytes | " + " | ".join(f"{n} µs" for n in candidates) + " |")
    print("|---|---:|" + "---:|" * len(candidates))
    for label, body in samples.items():
        cells = [_timed(function, body) for function in candidates.values()]
        print(f"| {label} | {len(body)} | " + " | ".join(cells) + " |")
    print()
    print("| input | " + " | ".join(n for n in candidates if "parse()" not in n) + " |")
    print("|---|" + "---|" * (len(candidates) - 1))
    for label, body in REFUSALS.items():
        cells = [_outcome(f, body) for n, f in candidates.items() if "parse()" not in n]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
