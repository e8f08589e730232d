"""Time and peak memory of every hostile case through every entry point.

Run: .venv/bin/python bench/hostile_timing.py   (prints a table; exit code 1 if any case took
longer than the policy's bound: 1 s, or 3 s for bodies over 10 MB)
"""

from __future__ import annotations

import logging
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "hostile")]

from corpus import CASES  # noqa: E402

from connect_mw.receiver import DEFAULT_MAX_BODY_SIZE  # noqa: E402
from support.entry_points import ENTRY_POINTS  # noqa: E402


def main() -> int:
    logging.getLogger("connect_mw").setLevel(logging.ERROR)  # the rejections are expected
    port = 9  # discard port: nothing listens; the parser must never try anyway
    worst: list[tuple[float, int, str, str]] = []
    for factory in ENTRY_POINTS:
        for case in CASES:
            client = factory(DEFAULT_MAX_BODY_SIZE)
            body, headers = case.payload(port), case.headers(port)
            tracemalloc.start()
            started = time.perf_counter()
            status, _ = client.request(case.method, "/docusign/connect", body, headers)
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            worst.append(
                (elapsed, peak, factory.__name__, f"{case.name} ({len(body)} B) -> {status}")
            )
    worst.sort(reverse=True)
    print(f"{'seconds':>8} {'peak MiB':>9}  entry point / case")
    for elapsed, peak, entry, name in worst[:15]:
        print(f"{elapsed:8.3f} {peak / 2**20:9.1f}  {entry} / {name}")
    over = [w for w in worst if w[0] > 1.0]
    print(f"{len(worst)} runs, slowest {worst[0][0]:.3f} s, {len(over)} over 1 s")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
