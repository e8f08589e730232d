"""The stored envelope state through msgspec against the first codec (``json`` + dicts).

    .venv/bin/python bench/state_codec.py [--repeats 7] [--bodies 2000]

Two measurements, both codecs in the same run (``state_codec_v1.py`` is the first codec):

1. ``dump_state`` / ``load_state`` of a folded state (timelines, roster, one removed
   recipient) with 5 and with 1000 recipients, µs per call; orjson beside them when
   installed (see :func:`peers`; pydantic against msgspec: ``model_types.py``).
2. ``Receiver.handle`` into a fresh ``SQLiteStore`` (WAL, ``durable=False``, so an fsync does
   not drown the difference) for the benchmark's JSON (~2 KB) and XML (~5 KB) bodies, µs per
   request, the store's codec swapped (wall clock and process CPU time), and beside it
   ``dump_state`` of the states those bodies fold to. Every body is a new envelope, so a
   request writes a state (``dump_state``) and reads none.

Best of ``--repeats`` passes, one core, no server. The numbers are in ``docs/performance.md``
("Stored state through msgspec").
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bodies
import state_codec_v1
from request_cost import best, requests

from connect_mw import Receiver
from connect_mw.model import EnvelopeState
from connect_mw.parse import parse
from connect_mw.state import fold
from connect_mw.stores import SQLiteStore, sqlite
from connect_mw.stores import codec as msgspec_codec
from connect_mw.testing import notification, recipient
from connect_mw.testing.builders import BASE_TIME

CODECS: dict[str, Any] = {"json (v1)": state_codec_v1, "msgspec": msgspec_codec}


def peers() -> dict[str, tuple[Callable[[EnvelopeState], object], Callable[[Any], object]]]:
    """``name: (dump, load)`` of the alternative installed here (not a dependency).

    orjson: ``dumps`` with a hook for the frozensets; its ``loads`` yields dicts only, so that
    column is a lower bound: the model would still be built from them in Python. (pydantic's
    ``TypeAdapter`` measured here while the model was dataclasses; it builds no schema for
    msgspec Structs.)
    """
    found: dict[str, tuple[Callable[[EnvelopeState], object], Callable[[Any], object]]] = {}
    try:
        import orjson  # noqa: PLC0415 (optional: measured only when installed)
    except ImportError:
        pass
    else:

        def sets(value: object) -> object:
            if isinstance(value, frozenset):
                return sorted(value)
            raise TypeError

        found["orjson (loads: dicts)"] = (partial(orjson.dumps, default=sets), orjson.loads)
    return found


def folded_state(count: int) -> EnvelopeState:
    """An envelope of ``count`` recipients: sent, then delivered with one recipient removed."""

    def people(status: str, n: int) -> tuple[Any, ...]:
        return tuple(
            recipient(str(i), status, email=f"signer{i}@example.com", name=f"Signer Nº{i}")
            for i in range(1, n + 1)
        )

    sent = notification("env-1", "sent", recipients=people("sent", count), full_recipient_list=True)
    delivered = notification(
        "env-1",
        "delivered",
        at=BASE_TIME + timedelta(minutes=5),
        recipients=people("delivered", count - 1),
        full_recipient_list=True,
    )
    return fold(fold(None, sent).state, delivered).state


def per_call(step: Callable[[], object], repeats: int, calls: int) -> float:
    """Best of ``repeats`` passes of ``calls`` calls of ``step``, µs per call."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            step()
        times.append((time.perf_counter() - started) / calls * 1e6)
    return min(times)


def codec_costs(repeats: int, others: dict[str, Any]) -> list[str]:
    """Table rows: dump and load at 5 and 1000 recipients, each codec on its own text."""
    codecs = {name: (c.dump_state, c.load_state) for name, c in CODECS.items()} | others
    rows = []
    for count, calls in ((5, 2000), (1000, 20)):
        state = folded_state(count)
        texts = {name: dump(state) for name, (dump, _) in codecs.items()}
        assert all(msgspec_codec.load_state(texts[name]) == state for name in CODECS)
        sizes = " / ".join(f"{len(texts[name]) / 1024:.1f}" for name in CODECS)
        for op in (0, 1):
            cost = {
                name: per_call(partial(pair[op], texts[name] if op else state), repeats, calls)
                for name, pair in codecs.items()
            }
            v1, new = cost["json (v1)"], cost["msgspec"]
            label = f"{('dump_state', 'load_state')[op]}, {count} recipients (text {sizes} KB)"
            cells = " | ".join(f"{us:.1f}" for us in cost.values())
            rows.append(f"| {label} | {cells} | {v1 / new:.1f} |")
    return rows


@contextmanager
def sqlite_codec(codec: Any) -> Iterator[None]:
    """``SQLiteStore`` writing and reading states with ``codec``."""
    saved = sqlite.dump_state, sqlite.load_state
    sqlite.dump_state, sqlite.load_state = codec.dump_state, codec.load_state
    try:
        yield
    finally:
        sqlite.dump_state, sqlite.load_state = saved


def handle_costs(reqs: Sequence[Any], repeats: int) -> dict[str, tuple[float, float]]:
    """``Receiver.handle`` into a fresh non-durable SQLite store per pass, per codec.

    ``name: (wall µs, CPU µs)`` per request, each the best of ``repeats`` passes, the codecs'
    passes interleaved. CPU time is the process's (the store's writer thread included): on a
    shared machine it moves far less than the wall clock.
    """
    wall: dict[str, list[float]] = {name: [] for name in CODECS}
    cpu: dict[str, list[float]] = {name: [] for name in CODECS}
    with tempfile.TemporaryDirectory() as folder:
        for attempt in range(repeats):
            for name, codec in CODECS.items():
                store = SQLiteStore(Path(folder) / f"{name}-{attempt}.sqlite3", durable=False)
                handle = partial(
                    Receiver(hmac_keys=bodies.KEY, store=store).handle, prechecked=True
                )
                with sqlite_codec(codec):
                    started, used = time.perf_counter(), time.process_time()
                    for request in reqs:
                        handle(request)
                    wall[name].append((time.perf_counter() - started) / len(reqs) * 1e6)
                    cpu[name].append((time.process_time() - used) / len(reqs) * 1e6)
                store.close()
    return {name: (min(wall[name]), min(cpu[name])) for name in CODECS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    logging.getLogger("connect_mw").setLevel(logging.WARNING)

    others = peers()
    names = [*CODECS, *others]
    print("| operation | " + " | ".join(f"{name} µs" for name in names) + " | v1 / msgspec |")
    print("|---|" + "---:|" * (len(names) + 1))
    for row in codec_costs(args.repeats, others):
        print(row)
    print()
    columns = "json (v1) µs | msgspec µs | v1 / msgspec | json (v1) CPU µs | msgspec CPU µs"
    print(f"| request | {columns} |")
    print("|---|---:|---:|---:|---:|---:|")
    for fmt in ("json", "xml"):
        reqs = requests(fmt, args.bodies)
        states = [fold(None, parse(r.body, r.content_type)).state for r in reqs]
        v1, new = (best(states, codec.dump_state, args.repeats) for codec in CODECS.values())
        print(
            f"| dump_state of these {fmt.upper()} bodies' states | {v1:.1f} | {new:.1f} | "
            f"{v1 / new:.1f} | | |"
        )
        costs = handle_costs(reqs, args.repeats)
        (v1, v1_cpu), (new, new_cpu) = costs["json (v1)"], costs["msgspec"]
        label = f"Receiver.handle, SQLite, {fmt.upper()}"
        print(f"| {label} | {v1:.1f} | {new:.1f} | {v1 / new:.2f} | {v1_cpu:.1f} | {new_cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
