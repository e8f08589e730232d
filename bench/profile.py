"""Profile one benchmark setup under load with py-spy; print where the server's time goes.

    .venv/bin/python bench/profile.py asgi-memory [--format xml] [--seconds 8]

Starts the row's server (one worker), samples it with ``py-spy record`` (raw collapsed
stacks, ``--nonblocking`` so the server is never paused) while ``wrk`` loads it, then prints
the functions with the largest inclusive and self share of the samples. The raw stacks are
kept under ``bench/results/profiles/`` (load them into speedscope or flamegraph.pl).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import backends  # noqa: E402
import bodies  # noqa: E402
import servers  # noqa: E402
from load import Load, run_wrk  # noqa: E402
from rows import ROWS  # noqa: E402


def summarize(stacks: Path, top: int = 35) -> list[str]:
    """Inclusive and self shares per function from py-spy's collapsed stacks."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in stacks.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples", "inclusive %  self %  function"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"{100 * count / total:10.1f}  {100 * own[frame] / total:6.1f}  {frame}")
    lines.append("top self:")
    for frame, count in own.most_common(top // 2):
        lines.append(f"{100 * count / total:10.1f}  {frame}")
    return lines


def _py_spy() -> str:
    """The py-spy executable, installed into this environment when missing."""
    local = Path(sys.executable).parent / "py-spy"
    if not local.exists() and shutil.which("py-spy") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return str(local) if local.exists() else "py-spy"


def _short(frame: str) -> str:
    """``func (path/to/site-packages/pkg/mod.py:12)`` -> ``func (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


def main() -> int:
    """Profile the row named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("row", choices=[row.name for row in ROWS])
    parser.add_argument("--format", default="json", choices=("json", "xml"))
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--idle", action="store_true", help="include idle (waiting) samples")
    args = parser.parse_args()
    row = next(row for row in ROWS if row.name == args.row)
    out = BENCH / "results" / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    stacks = out / f"{row.name}-{args.format}-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    with tempfile.TemporaryDirectory(prefix="connect-mw-prof-", dir="/var/tmp") as tmp:
        scratch = Path(tmp)
        main_bodies = scratch / "main.bodies"
        bodies.write_bodies(main_bodies, args.format, 30000, salt=0)
        config: dict[str, object] = {"app": row.app}
        if row.store:
            config.update(backends.prepare(row.store, scratch))
        server = servers.start(row.server, config, 1, scratch / "server.log")
        try:
            spy = [
                _py_spy(), "record", "--pid", str(server.process.pid), "--format", "raw",
                "--rate", str(args.rate), "--duration", str(args.seconds + 1),
                "--nonblocking", "--threads", "--output", str(stacks),
                *(["--idle"] if args.idle else []),
            ]  # fmt: skip
            spying = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5)
            result = run_wrk(server.url, row.path, main_bodies, Load(seconds=args.seconds))
            spying.wait(timeout=60)
        finally:
            servers.stop(server)
            if row.store:
                backends.cleanup(config)
    print(f"{row.label} ({args.format}): {result['rps']:.0f} req/s under py-spy")
    print("\n".join(summarize(stacks)))
    print(f"stacks: {stacks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
