"""Large notifications: time to acknowledge and peak memory, against a bare parse.

Run alone: ``.venv/bin/python bench/large.py [--quick]`` (``run.py`` runs it too).

Bodies of 25 MB and 50 MB, XML legacy and JSON SIM, whose bulk is two PDFs (random bytes,
base64), go through the ASGI middleware in process: a driver plays the server, handing the
body over in 64 KiB ``http.request`` messages as uvicorn does, each chunk a new bytes object
as if just read from the socket. Measured:

* ``ack ms``: from the first ``receive`` to ``http.response.start`` (a 200), best of three
  distinct events; for 8 at once, until all eight are answered.
* ``bare parse ms``: ``defusedxml.ElementTree.fromstring`` / ``json.loads`` of the same bytes,
  best of three (eight times that for 8 at once).
* ``RSS growth``: the process's peak resident memory (``VmHWM``, reset through
  ``/proc/self/clear_refs``) minus its resident memory just before the request(s), with the
  bodies already in memory (the "wire"); ``x body`` divides by the bytes received.

Each case runs in a fresh process, so one case's freed memory cannot hide another's.

Stores (``--stores``): ``memory``, ``sqlite`` (a file in the case's scratch directory),
``redis`` and ``postgres`` (a key prefix, a schema: ``backends.py``), and ``django-sqlite``
and ``django-postgres``: ``DjangoStore`` on Django configured in the child (this app only,
``DEBUG`` off, migrated before measuring), its database a SQLite file in the scratch
directory or PostgreSQL's ``test`` database with a fresh schema as its ``search_path``,
dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import backends  # noqa: E402
import bodies  # noqa: E402

CHUNK = 64 * 1024
SIZES = (25_000_000, 50_000_000)
KINDS = ("xml", "json")
STORES = ("memory", "sqlite")  # the default; the others on request (--stores)
ALL_STORES = (*STORES, "redis", "postgres", "django-sqlite", "django-postgres")
TIMING_RUNS = 3


# Measuring inside one process ----------------------------------------------------------


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def _settle() -> None:
    """Free what can be freed and give it back to the kernel, then reset the peak."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


class Peak:
    """Peak RSS growth over a block: ``growth`` bytes once the block is done."""

    def __enter__(self) -> Peak:
        _settle()
        self.before = _status("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        self.growth = _status("VmHWM") - self.before


async def _post(app: Any, payload: bytes, headers: dict[str, str]) -> float:
    """POST ``payload`` to ``app`` as a server would; seconds until the 200 started."""
    position = 0
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal position
        await asyncio.sleep(0)  # let concurrent requests read their chunks in turn
        piece = payload[position : position + CHUNK]  # a fresh bytes object, like recv()
        position += len(piece)
        return {"type": "http.request", "body": piece, "more_body": position < len(payload)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["at"] = time.perf_counter()
        elif message["type"] == "http.response.body":
            answer["body"] = answer.get("body", b"") + message.get("body", b"")

    pairs = [*headers.items(), ("content-length", str(len(payload)))]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": bodies.PATH, "raw_path": bodies.PATH.encode(),
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs],
    }  # fmt: skip
    started = time.perf_counter()
    await app(scope, receive, send)
    if answer.get("status") != 200 or b"accepted" not in answer.get("body", b""):
        raise RuntimeError(f"not accepted: {answer.get('status')} {answer.get('body')!r}")
    return float(answer["at"] - started)


def _app(store: str, scratch: Path) -> tuple[Any, dict[str, Any]]:
    """The middleware on a fresh ``store``, and what :func:`backends.cleanup` removes after."""
    from connect_mw import Receiver  # noqa: PLC0415
    from connect_mw.adapters.asgi import ConnectASGIMiddleware  # noqa: PLC0415
    from connect_mw.stores import SQLiteStore  # noqa: PLC0415

    logging.getLogger("connect_mw").setLevel(logging.WARNING)
    config: dict[str, Any] = {}
    if store == "sqlite":
        chosen: Any = SQLiteStore(scratch / "large.sqlite3")
    elif store in ("redis", "postgres"):
        config = backends.prepare(store, scratch)
        chosen = config["store"]
    elif store.startswith("django-"):
        chosen, config = _django_store(store.removeprefix("django-"), scratch)
    else:
        chosen = "memory://"
    receiver = Receiver(hmac_keys=bodies.KEY, store=chosen)
    return ConnectASGIMiddleware(None, receiver=receiver, run_worker=False), config


def _django_store(database: str, scratch: Path) -> tuple[Any, dict[str, Any]]:
    """``DjangoStore`` on a freshly migrated ``sqlite`` file or ``postgres`` schema.

    The configuration returned is what :func:`backends.cleanup` removes afterwards (the
    schema; the SQLite file goes with the scratch directory).
    """
    import django  # noqa: PLC0415
    from django.conf import settings  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    config: dict[str, Any] = {}
    default: dict[str, Any]
    if database == "sqlite":
        default = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(scratch / "django.sqlite3"),
            "OPTIONS": {"timeout": 30},
        }
    elif database == "postgres":
        import psycopg  # noqa: PLC0415

        config = backends.prepare("postgres", scratch)
        schema = config["store"].split("schema=", 1)[1]
        with psycopg.connect(backends.POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        info = psycopg.conninfo.conninfo_to_dict(backends.POSTGRES_URL)
        default = {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": info.get("host", "127.0.0.1"),
            "PORT": info.get("port", ""),
            "USER": info.get("user", ""),
            "NAME": info.get("dbname", "test"),
            "OPTIONS": {"options": f"-c search_path={schema}"},
        }
    else:
        raise ValueError(f"unknown Django database {database!r}")
    settings.configure(
        SECRET_KEY="bench-only",
        USE_TZ=True,
        INSTALLED_APPS=["connect_mw.adapters.django"],
        DATABASES={"default": default},
    )
    try:
        django.setup()
        call_command("migrate", verbosity=0)
    except BaseException:
        if config:  # the schema, when migrating it failed
            from django.db import connections  # noqa: PLC0415

            connections.close_all()
            backends.cleanup(config)
        raise
    from connect_mw.adapters.django.store import DjangoStore  # noqa: PLC0415

    return DjangoStore(), config


def _close_django(store: Any) -> None:
    """Close the connections ``store`` opened (in ``offload``'s thread), before cleanup."""
    from django.db import connections  # noqa: PLC0415

    asyncio.run(store.offload(connections.close_all))
    connections.close_all()


def _bare_parse(kind: str, payload: bytes) -> None:
    if kind == "xml":
        import defusedxml.ElementTree  # noqa: PLC0415

        defusedxml.ElementTree.fromstring(payload)
    else:
        json.loads(payload)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """One case, in this (fresh) process: see the module docstring."""
    kind = spec["kind"]
    payloads = [Path(name).read_bytes() for name in spec["files"]]
    signed = [(p, bodies.headers(kind, p)) for p in payloads]
    scratch = Path(spec["scratch"])
    app, config = _app(spec["store"], scratch)
    try:
        return _measure(spec, app, signed, payloads)
    finally:
        app.receiver.store.close()
        if spec["store"].startswith("django-"):
            _close_django(app.receiver.store)
        if config:
            backends.cleanup(config)


def _measure(
    spec: dict[str, Any],
    app: Any,
    signed: list[tuple[bytes, dict[str, str]]],
    payloads: list[bytes],
) -> dict[str, Any]:
    kind, concurrency = spec["kind"], spec["concurrency"]
    small = bodies.body(kind, 0, salt=99)
    asyncio.run(_post(app, small, bodies.headers(kind, small)))  # first use: schema, imports

    async def together(batch: list[tuple[bytes, dict[str, str]]]) -> float:
        started = time.perf_counter()
        await asyncio.gather(*(_post(app, p, h) for p, h in batch))
        return time.perf_counter() - started

    if concurrency == 1:  # the requests first, in the fresh process: the RSS that counts
        with Peak() as peak:
            times = [asyncio.run(together(signed[:1]))]
        times += [asyncio.run(together([pair])) for pair in signed[1:]]
    else:
        with Peak() as peak:
            times = [asyncio.run(together(signed[:concurrency]))]
    with Peak() as parse_peak:
        _bare_parse(kind, payloads[0])
    parse_times = []
    for _ in range(TIMING_RUNS):
        started = time.perf_counter()
        _bare_parse(kind, payloads[0])
        parse_times.append(time.perf_counter() - started)
    received = sum(len(p) for p, _ in signed[:concurrency])
    return {
        **{k: spec[k] for k in ("kind", "size", "concurrency", "store")},
        "body_bytes": len(payloads[0]),
        "ack_ms": min(times) * 1000,
        "parse_ms": min(parse_times) * 1000 * concurrency,
        "rss_growth": peak.growth,
        "rss_ratio": peak.growth / received,
        "parse_rss_growth": parse_peak.growth,
    }


# Orchestrating ------------------------------------------------------------------------


def _write_bodies(kind: str, size: int, count: int, scratch: Path) -> list[str]:
    template = bodies.large_body(kind, size)
    names = []
    for salt in range(count):
        old, new = bodies.envelope_id(1), bodies.envelope_id(1, salt=salt + 1)
        path = scratch / f"{kind}-{size}-{salt}.body"
        path.write_bytes(template.replace(old.encode(), new.encode()))
        names.append(str(path))
    return names


def run_all(
    quick: bool = False,
    log: Any = print,
    kinds: tuple[str, ...] = KINDS,
    stores: tuple[str, ...] = STORES,
) -> list[dict[str, Any]]:
    """Every case, each in its own process; the results (or the error) per case."""
    results = []
    sizes = SIZES[:1] if quick else SIZES
    with tempfile.TemporaryDirectory(prefix="connect-mw-large-", dir="/var/tmp") as tmp:
        scratch = Path(tmp)
        for kind in kinds:
            for size in sizes:
                files = _write_bodies(kind, size, 8, scratch)
                for store in stores:
                    for concurrency in (1, 8):
                        case_dir = Path(tempfile.mkdtemp(dir=scratch))
                        chosen = files[:TIMING_RUNS] if concurrency == 1 else files
                        spec = {
                            "kind": kind, "size": size, "concurrency": concurrency,
                            "store": store, "files": chosen, "scratch": str(case_dir),
                        }  # fmt: skip
                        results.append(_run_child(spec))
                        log(_describe(results[-1]))
                for name in files:
                    Path(name).unlink()
    return results


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", json.dumps(spec)]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return {**spec, "error": done.stderr[-1500:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _describe(r: dict[str, Any]) -> str:
    head = f"  large {r['kind']} {r['size'] / 1e6:.0f} MB x{r['concurrency']} {r['store']}: "
    if "error" in r:
        return head + "FAILED " + str(r["error"]).strip().splitlines()[-1]
    return head + (
        f"ack {r['ack_ms']:.0f} ms vs parse {r['parse_ms']:.0f} ms "
        f"({r['ack_ms'] / r['parse_ms']:.2f}x), RSS +{r['rss_growth'] / 1e6:.0f} MB "
        f"({r['rss_ratio']:.2f}x body)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="25 MB bodies only")
    parser.add_argument("--kinds", default=",".join(KINDS), help="xml,json (default both)")
    parser.add_argument(
        "--stores",
        default=",".join(STORES),
        help=f"of {','.join(ALL_STORES)} (default: {','.join(STORES)})",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return 0
    kinds, stores = tuple(args.kinds.split(",")), tuple(args.stores.split(","))
    results = run_all(args.quick, kinds=kinds, stores=stores)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
