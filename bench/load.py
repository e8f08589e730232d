"""Running ``wrk`` with ``wrk_bodies.lua`` and reading its result line."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
SCRIPT = BENCH / "wrk_bodies.lua"


@dataclass(frozen=True)
class Load:
    """How hard and how long wrk pushes."""

    threads: int = 2
    connections: int = 64
    seconds: int = 5  # wrk takes whole seconds only


def run_wrk(url: str, path: str, bodies: Path, load: Load) -> dict[str, Any]:
    """Load ``url`` + ``path`` with the signed bodies in ``bodies``; the parsed result."""
    argv = [
        "wrk", f"-t{load.threads}", f"-c{load.connections}", f"-d{load.seconds}s",
        "--timeout", "10s", "-s", str(SCRIPT), url,
        "--", str(bodies), path, str(load.threads),
    ]  # fmt: skip
    done = subprocess.run(
        argv, check=False, capture_output=True, text=True, timeout=load.seconds + 120
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
            seconds = result["duration_us"] / 1e6
            result["rps"] = result["requests"] / seconds if seconds else 0.0
            result["non_2xx"] = result["errors"]["status"]
            return result
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}): {done.stderr[-2000:]}")
