"""The receiver a crash test's worker subprocesses import (``support.crash_app:receiver``).

Its callback records its effect in a ledger table with a unique key — the idempotent side
effect ``docs/guarantees.md`` recommends — and every invocation in an append-only table, with
random pauses so a SIGKILL lands before, during or after the effect.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from datetime import timedelta

from connect_mw import Delivery, Receiver

LEDGER = os.environ.get("CRASH_LEDGER", "ledger.sqlite3")

receiver = Receiver(
    hmac_keys="crash-test-key",
    store=f"sqlite:///{os.environ.get('CRASH_STORE', 'crash.sqlite3')}",
    lease_for=timedelta(seconds=float(os.environ.get("CRASH_LEASE", "1"))),
)


def ledger() -> sqlite3.Connection:
    conn = sqlite3.connect(LEDGER, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS effects (effect TEXT PRIMARY KEY)")
    conn.execute("CREATE TABLE IF NOT EXISTS invocations (effect TEXT, attempt INTEGER)")
    return conn


@receiver.on_any
def record_effect(delivery: Delivery) -> None:
    effect = f"{delivery.key}/{delivery.notification.event}"
    time.sleep(random.uniform(0, 0.08))
    conn = ledger()
    try:
        conn.execute("INSERT INTO invocations VALUES (?, ?)", (effect, delivery.attempt))
        time.sleep(random.uniform(0, 0.08))
        conn.execute("INSERT OR IGNORE INTO effects VALUES (?)", (effect,))
    finally:
        conn.close()
    time.sleep(random.uniform(0, 0.08))
