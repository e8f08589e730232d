"""What one Connect request costs in process, step by step, against the floor.

    .venv/bin/python bench/request_cost.py [--bodies 3000] [--repeats 5]

For the benchmark's JSON and XML bodies (``bodies.py``), times each step the request path
runs — HMAC verification, ``parse``, key derivation, the fold, recording in a ``MemoryStore`` (fold
included), ``Receiver.handle`` end to end, and the whole ASGI middleware call — next to
what the floor (``apps.FloorApp``: HMAC, one bare parse, a dict insert) does with the same
bytes. Best of ``--repeats`` passes over ``--bodies`` distinct bodies, in microseconds per
request, one core, no server: the numbers ``docs/performance.md`` explains the ratios with.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import sys
import time
from collections.abc import Callable, MutableMapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import defusedxml.ElementTree as DefusedET

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bodies

from connect_mw import Receiver
from connect_mw.adapters.asgi import ConnectASGIMiddleware
from connect_mw.effects import drive
from connect_mw.http import Request
from connect_mw.keys import derive_key
from connect_mw.parse import parse
from connect_mw.state import fold
from connect_mw.verify import sign

_T = TypeVar("_T")


def best(items: Sequence[_T], step: Callable[[_T], object], repeats: int) -> float:
    """The best time per item of ``repeats`` passes of ``step`` over ``items``, in µs."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for item in items:
            step(item)
        times.append((time.perf_counter() - started) / len(items) * 1e6)
    return min(times)


def requests(fmt: str, count: int) -> list[Request]:
    """``count`` distinct signed requests of format ``fmt``."""
    made = []
    for index in range(count):
        body = bodies.body(fmt, index, salt=7)
        headers = {
            "content-type": bodies.CONTENT_TYPES[fmt],
            "content-length": str(len(body)),
            "x-docusign-signature-1": sign(bodies.KEY, body),
        }
        made.append(Request("POST", bodies.PATH, headers, body))
    return made


def floor_step(key: bytes) -> Callable[[Request], object]:
    """What ``FloorApp`` does with a body: HMAC, one bare parse, a dict insert."""
    kept: dict[bytes, bytes] = {}

    def step(request: Request) -> object:
        digest = hmac.new(key, request.body, hashlib.sha256).digest()
        hmac.compare_digest(digest, digest)
        body = request.body
        parsed = json.loads(body) if body[:1] == b"{" else DefusedET.fromstring(body)
        kept[hashlib.sha256(body).digest()] = body
        return parsed

    return step


def asgi_pass(fmt: str, reqs: Sequence[Request]) -> float:
    """One pass of whole ``ConnectASGIMiddleware`` calls (no server), fresh memory store, µs each.

    All calls run inside one coroutine, as under a server: no event-loop start per call.
    """
    receiver = Receiver(hmac_keys=bodies.KEY, store="memory://")
    app = ConnectASGIMiddleware(None, receiver=receiver, run_worker=False)
    calls = []
    for request in reqs:
        headers = [(k.encode(), v.encode()) for k, v in request.headers.items()]
        scope = {"type": "http", "method": "POST", "path": bodies.PATH, "headers": headers}
        calls.append((scope, {"type": "http.request", "body": request.body}))

    async def run() -> float:
        async def send(message: MutableMapping[str, Any]) -> None:
            return None

        started = time.perf_counter()
        for scope, message in calls:

            async def receive(message: dict[str, Any] = message) -> dict[str, Any]:
                return message

            await app(scope, receive, send)
        return (time.perf_counter() - started) / len(calls) * 1e6

    return asyncio.run(run())


def _record_one(receiver: Receiver, accepted: Any) -> None:
    drive(receiver._record(accepted, time.perf_counter()))


def measure(fmt: str, count: int, repeats: int) -> dict[str, float]:
    """Every step's cost for ``fmt`` bodies, µs per request."""
    reqs = requests(fmt, count)
    receiver = Receiver(hmac_keys=bodies.KEY, store="memory://")
    notes = [parse(r.body, r.content_type) for r in reqs]
    accepted = [receiver.accept(r, prechecked=True) for r in reqs]
    costs = {
        "floor (HMAC + bare parse + dict insert)": best(
            reqs, floor_step(bodies.KEY.encode()), repeats
        ),
        "HMAC verification": best(reqs, receiver.authenticator.verify, repeats),
        "parse()": best(reqs, lambda r: parse(r.body, r.content_type), repeats),
        "idempotency key": best(notes, derive_key, repeats),
        "fold(None, n)": best(notes, lambda n: fold(None, n), repeats),
        "accept() (HMAC, parse, key)": best(
            reqs, lambda r: receiver.accept(r, prechecked=True), repeats
        ),
    }
    records = []
    for _ in range(repeats):
        fresh = Receiver(hmac_keys=bodies.KEY, store="memory://")
        record = partial(_record_one, fresh)
        records.append(best(accepted, record, 1))
    costs["record: load, fold, commit (memory)"] = min(records)
    handles = []
    for _ in range(repeats):
        fresh = Receiver(hmac_keys=bodies.KEY, store="memory://")
        handles.append(best(reqs, partial(fresh.handle, prechecked=True), 1))
    costs["Receiver.handle, memory store"] = min(handles)
    costs["ConnectASGIMiddleware call, memory store"] = min(
        asgi_pass(fmt, reqs) for _ in range(repeats)
    )
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("connect_mw").setLevel(logging.WARNING)
    results = {fmt: measure(fmt, args.bodies, args.repeats) for fmt in ("json", "xml")}
    print("| step | JSON µs | XML µs |")
    print("|---|---:|---:|")
    for step in results["json"]:
        print(f"| {step} | {results['json'][step]:.1f} | {results['xml'][step]:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
