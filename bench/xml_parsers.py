"""Which XML loader the parser should use, by measurement (issue 13, "XML by measurement").

Compares, on the same bodies, what each candidate costs to turn a Connect XML body into a
tree, with the safety refusals the project needs (no DTD, no entities, no network, depth
bounded):

* ``expat driver``: ``connect_mw.parse.xml_load.load`` (the loader in use: expat with our
  own handlers, keeping only what the mapping reads, bulky base64 text sliced from the body);
* ``defusedxml``: ``defusedxml.ElementTree.fromstring`` (expat building a full
  ``ElementTree``, DTDs and entities refused; no depth bound);
* ``lxml``: ``lxml.etree.fromstring`` with ``resolve_entities=False, no_network=True,
  load_dtd=False, huge_tree=True`` (without ``huge_tree`` libxml2 refuses the 10 MB+ text
  nodes of embedded PDFs), comments and PIs dropped, a resolver refusing everything, then the
  refusals lxml does not make itself: any ``docinfo.internalDTD`` refused, depth checked by
  one compiled XPath (what the prototype on branch ``h/xml-lxml-prototype`` did);
* ``parse()`` (for reference): the whole XML parser, loader plus mapping to the model.

Bodies: the project's XML fixtures, the benchmark's 4.6 KB legacy body, and 25 MB / 50 MB
bodies with two PDFs. Time: best of N (CPU time of this process). Memory: peak RSS growth
(``VmHWM`` reset through ``/proc/self/clear_refs``) of the load *and* of reading both
``PDFBytes`` texts as ``str`` (what the mapping keeps), one fresh process per large case, so
libxml2's own allocations count too; for lxml each text node is emptied once read, as a real
use would (without that: about 0.5 x body more). Run:
``.venv/bin/python bench/xml_parsers.py [--runs 5]`` (installs lxml into the running
environment if it is missing).
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


_NS = "{http://www.docusign.net/API/3.0}"


def loaders() -> dict[str, Callable[[bytes], object]]:
    """Each candidate, as a function of the body, returning the ``PDFBytes`` texts."""
    import defusedxml.ElementTree as DefusedET  # noqa: PLC0415
    from lxml import etree  # noqa: PLC0415

    from connect_mw.parse import parse  # noqa: PLC0415
    from connect_mw.parse.xml_load import MAX_DEPTH, load  # noqa: PLC0415

    class Refuse(etree.Resolver):
        def resolve(self, url: Any, public_id: Any, context: Any) -> Any:
            raise ValueError("external reference")

    too_deep = etree.XPath("/" + "/".join(["*"] * (MAX_DEPTH + 1)))

    def with_lxml(body: bytes) -> list[str]:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
            remove_comments=True, remove_pis=True, collect_ids=False,
        )  # fmt: skip
        parser.resolvers.add(Refuse())
        root = etree.fromstring(body, parser)
        if root.getroottree().docinfo.internalDTD is not None or too_deep(root):
            raise ValueError("refused")
        texts = []
        for element in root.iter(_NS + "PDFBytes"):
            texts.append(element.text or "")
            element.text = None
        return texts

    def with_expat(body: bytes) -> list[str | None]:
        document = load(body, frozenset({"PDFBytes"}))
        root = document.children["DocuSignEnvelopeInformation"][0]
        pdfs = (root.children or {}).get("DocumentPDFs", [])
        return [
            item.children["PDFBytes"][0].text
            for container in pdfs
            for item in (container.children or {}).get("DocumentPDF", [])
        ]

    def with_defusedxml(body: bytes) -> list[str | None]:
        return [element.text for element in DefusedET.fromstring(body).iter(_NS + "PDFBytes")]

    return {
        "expat driver (in use)": with_expat,
        "defusedxml": with_defusedxml,
        "lxml (huge_tree, checks)": with_lxml,
        "parse() (loader + mapping)": lambda body: parse(body, "text/xml", warn=False),
    }


def small_bodies() -> dict[str, bytes]:
    """The held-in XML fixtures and the benchmark's 4.6 KB body."""
    found = {path.name: path.read_bytes() for path in sorted(FIXTURES.glob("*.xml"))}
    found["bench legacy 4.6 KB"] = bodies.xml_body(1)
    return found


def best(function: Callable[[bytes], object], body: bytes, runs: int) -> float:
    """Best CPU time of ``runs`` calls, in microseconds (the machine may be shared)."""
    times = []
    for _ in range(runs):
        started = time.process_time()
        function(body)
        times.append(time.process_time() - started)
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
