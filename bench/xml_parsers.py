"""Which XML loader the parser should use, by measurement (issue 13, "XML by measurement").

Compares, on the same bodies, what each candidate costs to turn a Connect XML body into a
tree, with the safety refusals the project needs (no DTD, no entities, no network, depth
bounded):

* ``expat driver``: ``connect_mw.parse.xml_load.load`` (today's loader: expat with our own
  handlers, keeping only what the mapping reads, bulky base64 text sliced from the body);
* ``defusedxml``: ``defusedxml.ElementTree.fromstring`` (expat building a full
  ``ElementTree``, entities and DTDs refused);
* ``lxml``: ``lxml.etree.fromstring`` with ``resolve_entities=False, no_network=True,
  load_dtd=False`` and ``huge_tree=True`` (without it libxml2 refuses the 10 MB+ text nodes
  of embedded PDFs); lxml keeps a DOCTYPE's internal subset, so a real use would also have to
  refuse ``docinfo.internalDTD`` after the parse — not counted here;
* ``parse_xml`` (for reference): the whole XML parser, loader plus mapping to the model.

Bodies: the project's XML fixtures, the benchmark's 4.6 KB legacy body, and 25 MB / 50 MB
bodies with two PDFs. Time: best of N in this process. Memory: peak RSS growth (``VmHWM``
reset through ``/proc/self/clear_refs``), one fresh process per large case, so libxml2's own
allocations count too. Run: ``.venv/bin/python bench/xml_parsers.py [--runs 5]`` (installs
lxml into the running environment if it is missing).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bodies
from large import Peak

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _ensure_lxml() -> None:
    try:
        import lxml  # noqa: F401, PLC0415
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "lxml"], check=True)


def loaders() -> dict[str, Callable[[bytes], object]]:
    """Each candidate, as a function of the body."""
    import defusedxml.ElementTree as DefusedET  # noqa: PLC0415
    from lxml import etree  # noqa: PLC0415

    from connect_mw.parse.xml import _BULKY, parse_xml  # noqa: PLC0415
    from connect_mw.parse.xml_load import load  # noqa: PLC0415

    safe = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    return {
        "expat driver (today)": lambda body: load(body, _BULKY),
        "defusedxml": DefusedET.fromstring,
        "lxml (huge_tree)": lambda body: etree.fromstring(body, safe),
        "parse_xml (loader + mapping)": lambda body: parse_xml(body, len(body)),
    }


def small_bodies() -> dict[str, bytes]:
    """The held-in XML fixtures and the benchmark's 4.6 KB body."""
    found = {path.name: path.read_bytes() for path in sorted(FIXTURES.glob("*.xml"))}
    found["bench legacy 4.6 KB"] = bodies.xml_body(1)
    return found


def best(function: Callable[[bytes], object], body: bytes, runs: int) -> float:
    """Best wall time of ``runs`` calls, in microseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function(body)
        times.append(time.perf_counter() - started)
    return min(times) * 1e6


def measure_large(name: str, size: int, runs: int) -> dict[str, Any]:
    """One loader on one large body, in this (fresh) process: time and peak RSS growth."""
    body = bodies.large_body("xml", size)
    function = loaders()[name]
    with Peak() as peak:
        tree = function(body)
    del tree
    return {"ms": best(function, body, runs) / 1000, "rss": peak.growth, "size": len(body)}


def _large_in_subprocess(name: str, size: int, runs: int) -> dict[str, Any]:
    here = str(Path(__file__).parent)
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import xml_parsers as x; "
        f"print(json.dumps(x.measure_large({name!r}, {size}, {runs})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    """Print both tables (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="25,50", help="large body sizes in MB")
    args = parser.parse_args(argv)
    _ensure_lxml()
    names = list(loaders())
    print("| body | bytes | " + " | ".join(f"{n} µs" for n in names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for label, body in small_bodies().items():
        cells = [f"{best(loaders()[n], body, args.runs * 200):.0f}" for n in names]
        print(f"| {label} | {len(body)} | " + " | ".join(cells) + " |")
    print()
    print("| body | loader | ms | peak RSS growth MB | x body |")
    print("|---|---|---:|---:|---:|")
    for mb in (int(part) for part in args.sizes.split(",")):
        for name in names:
            row = _large_in_subprocess(name, mb * 1_000_000, args.runs)
            print(
                f"| XML {mb} MB, two PDFs | {name} | {row['ms']:.0f} | "
                f"{row['rss'] / 1e6:.0f} | {row['rss'] / row['size']:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
