"""The setups one benchmark run measures, in the order it measures them."""

from __future__ import annotations

from dataclasses import dataclass

CONNECT = "/docusign/connect"
OTHER = "/api/orders"  # a path the middleware passes through to the app


@dataclass(frozen=True)
class Row:
    """One setup: which server, which app, which path, which store, how many workers."""

    name: str
    label: str
    server: str  # "asgi" (uvicorn) or "wsgi" (gunicorn)
    app: str  # "bare" or "middleware"
    path: str = CONNECT
    store: str | None = None
    workers: int = 1
    target: float | None = None  # the minimum ratio to ``reference``
    reference: str = "asgi-bare"  # the row ``target`` is a ratio to

    @property
    def baseline(self) -> bool:
        """Whether this row measures a bare app (a reference, not a receiver)."""
        return self.app == "bare"

    @property
    def peer(self) -> bool:
        """Whether this row is a receiver written without connect-mw (floor, hand-written)."""
        return self.app in ("floor", "handwritten")


ROWS = (
    Row("asgi-bare", "bare ASGI app", "asgi", "bare"),
    Row("asgi-floor", "floor: HMAC + one parse + dict insert, no connect-mw", "asgi",
        "floor"),
    Row("asgi-handwritten", "hand-written: HMAC + one parse + SQLite WAL insert, no connect-mw",
        "asgi", "handwritten", store="sqlite-wal"),
    Row("asgi-passthrough", "middleware, non-Connect path", "asgi", "middleware", OTHER,
        "memory", target=0.97),
    Row("asgi-memory", "Connect path, memory store", "asgi", "middleware", store="memory",
        target=1.0, reference="asgi-floor"),
    Row("asgi-sqlite-wal", "Connect path, SQLite WAL (durable=False)", "asgi", "middleware",
        store="sqlite-wal", target=1.0, reference="asgi-handwritten"),
    Row("asgi-sqlite-durable", "Connect path, SQLite durable (fsync, group commit)", "asgi",
        "middleware", store="sqlite-durable", target=0.8, reference="asgi-handwritten"),
    Row("asgi-redis", "Connect path, Redis, 2 workers", "asgi", "middleware", store="redis",
        workers=2, target=0.30),
    Row("asgi-postgres", "Connect path, PostgreSQL, 2 workers", "asgi", "middleware",
        store="postgres", workers=2, target=0.30),
    Row("asgi-bare-2w", "bare ASGI app, 2 workers (reference)", "asgi", "bare", workers=2),
    Row("wsgi-bare", "bare WSGI app", "wsgi", "bare"),
    Row("wsgi-passthrough", "WSGI middleware, non-Connect path", "wsgi", "middleware", OTHER,
        "memory"),
    Row("wsgi-memory", "WSGI Connect path, memory store", "wsgi", "middleware",
        store="memory"),
    Row("wsgi-sqlite-wal", "WSGI Connect path, SQLite WAL", "wsgi", "middleware",
        store="sqlite-wal"),
    Row("wsgi-sqlite-durable", "WSGI Connect path, SQLite durable", "wsgi", "middleware",
        store="sqlite-durable"),
)  # fmt: skip
BY_NAME = {row.name: row for row in ROWS}
#: Rows measured several times, alternating, when the difference is small (the 0.97 target)
#: or they are the reference; the table shows each row's median.
ALTERNATED = (("asgi-bare", "asgi-passthrough"), ("wsgi-bare", "wsgi-passthrough"))


def schedule(rows: list[Row], repeats: int) -> list[Row]:
    """The order of the runs: each alternated pair ``repeats`` times (bare first), the
    other rows once, and the bare ASGI app once more at the end to show the drift."""
    chosen = {row.name for row in rows}
    order: list[Row] = []
    for row in rows:
        pair = next((p for p in ALTERNATED if row.name in p), None)
        if pair is None:
            order.append(row)
        elif row.name == pair[0] or pair[0] not in chosen:
            members = [BY_NAME[name] for name in pair if name in chosen]
            order += members * repeats
    if "asgi-bare" in chosen:
        order.append(BY_NAME["asgi-bare"])
    return order
