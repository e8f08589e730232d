"""connect-mw benchmark: throughput ratios to a bare app, measured side by side in one run.

    .venv/bin/python bench/run.py            # full run, a few minutes
    .venv/bin/python bench/run.py --quick    # smoke run, about a minute

Installs what it needs when missing (``wrk`` with apt-get; gunicorn, matplotlib, uvicorn
with httptools and uvloop, redis and psycopg with pip into the running interpreter's
environment), then for the JSON (about 2 KB) and XML (about 5 KB) bodies serves each setup
of ``rows.py`` in turn on a fresh server and store, loads it with ``wrk`` posting distinct
pre-signed events, and prints the table. Then the large-body suite (``large.py``). Writes
``bench/results/<timestamp>.json`` and ``docs/images/benchmark.png``. See
``docs/performance.md`` for the method.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import backends  # noqa: E402
import bodies  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402
from load import Load, run_wrk  # noqa: E402
from rows import ROWS, Row, schedule  # noqa: E402

FORMATS = ("json", "xml")
_PIP_NEEDS = {  # module -> pip requirement
    "gunicorn": "gunicorn",
    "matplotlib": "matplotlib",
    "uvicorn": "uvicorn[standard]",
    "uvloop": "uvloop",
    "httptools": "httptools",
    "redis": "redis>=5.0",
    "psycopg": "psycopg[binary,pool]>=3.1",
    "psycopg_pool": "psycopg-pool",
}


def ensure_tools() -> None:
    """Install wrk (apt-get) and the Python packages the run needs, when missing."""
    if shutil.which("wrk") is None:
        print("installing wrk (apt-get) ...", flush=True)
        install = ["apt-get", "install", "-y", "-qq", "wrk"]
        if subprocess.run(install, check=False, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(install, check=True, capture_output=True)
    missing = sorted(
        {req for mod, req in _PIP_NEEDS.items() if importlib.util.find_spec(mod) is None}
    )
    if missing:
        print(f"installing {' '.join(missing)} (pip) ...", flush=True)
        pip = [sys.executable, "-m", "pip", "install", "-q", *missing]
        subprocess.run(pip, check=True)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    found = {}
    for name in ("connect-mw", "uvicorn", "uvloop", "httptools", "gunicorn", "starlette"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    found["wrk"] = (wrk.stdout or wrk.stderr).split("\n", 1)[0].strip()
    return found


def measure_row(
    row: Row, fmt: str, files: dict[str, Path], *, load: Load, warmup: int, scratch: Path
) -> dict[str, Any]:
    """Serve ``row`` on a fresh server and store, check it accepts, warm it up, load it."""
    result: dict[str, Any] = {
        "row": row.name, "label": row.label, "format": fmt, "server": row.server,
        "workers": row.workers, "target": row.target, "reference": row.reference,
        "path": row.path,
        "baseline": row.baseline, "records": row.app == "middleware" and row.path == bodies.PATH,
    }  # fmt: skip
    reason = backends.unavailable(row.store) if row.store else None
    if reason:
        result["skipped"] = f"store unavailable: {reason}"
        return result
    config: dict[str, Any] = {"app": row.app}
    if row.store:
        config.update(backends.prepare(row.store, scratch))
    server = servers.start(row.server, config, row.workers, scratch / f"{row.name}-{fmt}.log")
    try:
        probe = bodies.body(fmt, ROWS.index(row), salt=2)
        status, answer = servers.post(server.url + row.path, probe, bodies.headers(fmt, probe))
        if status != 200 or (b"accepted" if result["records"] else b"ok") not in answer:
            raise RuntimeError(f"probe answered {status} {answer[:200]!r}")
        warm = Load(load.threads, load.connections, warmup)
        run_wrk(server.url, row.path, files["warmup"], warm)
        result.update(run_wrk(server.url, row.path, files["main"], load))
    except Exception as exc:
        result["skipped"] = f"failed: {exc}"[:300]
    finally:
        servers.stop(server)
        if row.store:
            backends.cleanup(config)
    return result


def _shown(result: dict[str, Any]) -> str:
    if "rps" not in result:
        return str(result.get("skipped"))
    return (
        f"{result['rps']:.0f} req/s, p50 {result['p50_us'] / 1000:.2f} ms, "
        f"p99 {result['p99_us'] / 1000:.2f} ms"
        + (", WRAPPED" if result.get("wrapped") and result["records"] else "")
        + (f", {result['non_2xx']} non-2xx" if result.get("non_2xx") else "")
    )


def run_rows(args: argparse.Namespace, load: Load, count: int) -> list[dict[str, Any]]:
    """Every scheduled run of every format, in order; one result per run."""
    only = set(args.only.split(",")) if args.only else None
    order = schedule([row for row in ROWS if only is None or row.name in only],
                     args.repeats or (1 if args.quick else 2))  # fmt: skip
    formats = [f for f in args.formats.split(",") if f]
    print(f"{len(order)} runs per format {formats}: wrk -t{load.threads} -c{load.connections} "
          f"-d{load.seconds}s, {os.cpu_count()} cores", flush=True)  # fmt: skip
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="connect-mw-bench-", dir="/var/tmp") as tmp:
        scratch = Path(tmp)
        for fmt in formats:
            files = {"main": scratch / f"{fmt}.bodies", "warmup": scratch / f"{fmt}-warm.bodies"}
            size = bodies.write_bodies(files["main"], fmt, count, salt=0)
            bodies.write_bodies(files["warmup"], fmt, max(count // 10, 1000), salt=1)
            print(f"{fmt}: {count} distinct signed bodies of about {size} bytes", flush=True)
            for row in order:
                result = measure_row(row, fmt, files, load=load, warmup=1, scratch=scratch)
                result["body_bytes"] = size
                runs.append(result)
                print(f"  {fmt} {row.label}: {_shown(result)}", flush=True)
    return runs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s per row, 25 MB bodies only")
    parser.add_argument("--seconds", type=int, help="wrk duration per row, whole seconds (5)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bodies", type=int, help="distinct events per format (default 30000)")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--only", help="comma-separated row names (see rows.py)")
    parser.add_argument(
        "--repeats", type=int, help="runs of the bare / non-Connect rows, alternated (2)"
    )
    parser.add_argument("--no-large", action="store_true", help="skip the large-body suite")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument("--chart", default=str(ROOT / "docs" / "images" / "benchmark.png"))
    parser.add_argument("--results", default=str(BENCH / "results"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every row ran without errors."""
    args = parse_args(argv)
    ensure_tools()
    started = time.strftime("%Y%m%dT%H%M%S")
    load = Load(args.threads, args.connections, args.seconds or (2 if args.quick else 5))
    count = args.bodies or (6000 if args.quick else 30000)
    load_before = os.getloadavg()
    print(f"connect-mw bench {started}, load average {load_before[0]:.2f}", flush=True)
    runs = run_rows(args, load, count)
    results = report.aggregate(runs)
    references = report.add_ratios(results)
    large: list[dict[str, Any]] = []
    if not args.no_large:
        import large as large_suite  # noqa: PLC0415

        print("large bodies (in process, ASGI middleware):", flush=True)
        large = large_suite.run_all(args.quick)
    print("\n" + "\n".join(report.table_lines(results)))
    for fmt, ref in references.items():
        if ref["drift"] is not None:
            print(f"{fmt}: bare ASGI app runs spread by {ref['drift']:.1%} over the run (drift)")
    if large:
        print("\n" + "\n".join(report.large_lines(large)))
    record = {
        "started": started, "quick": args.quick,
        "load_average": {"start": load_before, "end": os.getloadavg()},
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "versions": _versions()},
        "load": asdict(load) | {"warmup_seconds": 1, "distinct_bodies": count},
        "wsgi_threads": servers.WSGI_THREADS, "references": references,
        "rows": results, "runs": runs, "large": large,
        "table_markdown": report.table_lines(results, markdown=True),
        "large_markdown": report.large_lines(large, markdown=True),
    }  # fmt: skip
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{started}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nload average {load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    print(f"results: {path}")
    if not args.no_chart:
        title = (f"connect-mw {started}: wrk -t{load.threads} -c{load.connections} "
                 f"-d{load.seconds}s, {os.cpu_count()} cores shared by server and wrk")  # fmt: skip
        report.chart(results, Path(args.chart), title)
        print(f"chart: {args.chart}")
    failed = [r for r in runs if str(r.get("skipped", "")).startswith("failed")]
    failed += [r for r in large if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
