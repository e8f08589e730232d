"""Mutation fuzzing of ``parse`` with timing: only ParseError may escape, and no input may take
more than 100 ms (the hardening issue's bound; timing lives here, never in tests).

Run: .venv/bin/python bench/fuzz_timing.py [--inputs 20000] [--seed 1]
Mutations of every fixture: byte flips, insertions, deletions, truncations, and repetition of
a random slice (up to ~1 MB) so large inputs are covered too.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("*.[xj]s*"))

from connect_mw.errors import ParseError  # noqa: E402
from connect_mw.parse import parse  # noqa: E402


def mutate(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 8)):
        kind = rng.randrange(5)
        at = rng.randrange(len(data) or 1)
        if kind == 0 and data:
            data[at] = rng.randrange(256)
        elif kind == 1:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == 2:
            del data[at : at + rng.randint(1, 64)]
        elif kind == 3:
            del data[at:]
        else:
            piece = data[at : at + rng.randint(1, 200)]
            data[at:at] = piece * rng.randint(1, max(1, 1_000_000 // max(len(piece), 1)))
    return bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bodies = [path.read_bytes() for path in FIXTURES]
    slowest: list[tuple[float, int]] = []
    escaped = 0
    for _ in range(args.inputs):
        body = mutate(rng.choice(bodies), rng)
        started = time.perf_counter()
        try:
            parse(body)
        except ParseError:
            pass
        except Exception as exc:  # anything else is a bug
            escaped += 1
            print(f"ESCAPED {type(exc).__name__}: {exc!r} for {body[:80]!r}")
        slowest.append((time.perf_counter() - started, len(body)))
    slowest.sort(reverse=True)
    print(f"{args.inputs} inputs, {escaped} non-ParseError exceptions")
    for elapsed, size in slowest[:5]:
        print(f"  {elapsed * 1000:7.1f} ms  {size:>9} bytes")
    over = sum(1 for elapsed, _ in slowest if elapsed > 0.1)
    print(f"{over} inputs over 100 ms")
    return 1 if escaped or over else 0


if __name__ == "__main__":
    sys.exit(main())
