"""Ratios, the printed table, the Markdown table and the chart of one run."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

Result = dict[str, Any]


_PER_RUN = ("requests", "duration_us", "bytes", "sent", "p90_us", "mean_us", "max_us", "errors")


def aggregate(runs: list[Result]) -> list[Result]:
    """One result per (format, setup): the median of its runs (rows run several times)."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for run in runs:
        groups.setdefault((run["format"], run["row"]), []).append(run)
    rows = []
    for group in groups.values():
        row = {k: v for k, v in group[0].items() if k not in _PER_RUN}
        done = [run for run in group if "rps" in run]
        for key in ("rps", "p50_us", "p99_us"):
            row.pop(key, None)
            if done:
                row[key] = statistics.median(run[key] for run in done)
        if done:
            row.pop("skipped", None)
            row["runs_rps"] = [round(run["rps"]) for run in done]
            row["wrapped"] = any(run.get("wrapped") for run in done)
            row["non_2xx"] = sum(run.get("non_2xx", 0) for run in done)
        rows.append(row)
    return rows


def add_ratios(rows: list[Result]) -> dict[str, Any]:
    """Fill each row's ratios: ``ratio`` (to the bare app of the same server),
    ``ratio_asgi`` (to the bare ASGI app), ``ratio_handwritten`` (to the hand-written SQLite
    receiver) and ``ratio_reference`` (to the row its target names), then ``met``.

    References are medians; the spread of the bare ASGI app's runs (first to last of the
    run) is reported as the run's drift. ``target_asgi`` restates a target on the bare-ASGI
    scale for the chart.
    """
    references: dict[str, Any] = {}
    for fmt in sorted({r["format"] for r in rows}):
        mine = {r["row"]: r for r in rows if r["format"] == fmt and "rps" in r}
        rps = {name: row["rps"] for name, row in mine.items()}
        bare = mine.get("asgi-bare")
        asgi = rps.get("asgi-bare")
        runs = bare["runs_rps"] if bare else []
        drift = (max(runs) - min(runs)) / asgi if asgi and len(runs) > 1 else None
        wsgi = rps.get("wsgi-bare")
        handwritten = rps.get("asgi-handwritten")
        references[fmt] = {
            "asgi_bare_rps": asgi, "wsgi_bare_rps": wsgi, "handwritten_rps": handwritten,
            "floor_rps": rps.get("asgi-floor"), "drift": drift,
        }  # fmt: skip
        for row in mine.values():
            row["ratio"] = _ratio(row["rps"], wsgi if row["server"] == "wsgi" else asgi)
            row["ratio_asgi"] = _ratio(row["rps"], asgi)
            row["ratio_handwritten"] = _ratio(row["rps"], handwritten)
            reference = rps.get(row.get("reference") or "asgi-bare")
            row["ratio_reference"] = _ratio(row["rps"], reference)
            if row.get("target") is not None and row["ratio_reference"] is not None:
                row["met"] = row["ratio_reference"] >= row["target"]
                row["target_asgi"] = _ratio(row["target"] * (reference or 0), asgi)
    return references


def _ratio(value: float, reference: float | None) -> float | None:
    return value / reference if reference else None


_REFERENCE_NAMES = {"asgi-bare": "bare", "asgi-floor": "floor", "asgi-handwritten": "hand-written"}


def _cell(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table_lines(results: list[Result], markdown: bool = False) -> list[str]:
    """The results as text (or Markdown) table lines."""
    head = (
        "format", "setup", "req/s", "p50 ms", "p99 ms", "x bare", "x bare ASGI",
        "x hand-written", "target",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = []
    for r in results:
        if "rps" not in r:
            skipped = r.get("skipped", "")
            rows.append((r["format"], r["label"], "not run", "", "", "", "", "", skipped))
            continue
        target = r.get("target")
        reference = _REFERENCE_NAMES.get(r.get("reference") or "asgi-bare", r.get("reference"))
        verdict = (
            ""
            if target is None
            else (f"≥ {target:.2f}x {reference} {'met' if r.get('met') else 'NOT met'}")
        )
        flags = f" x{len(r['runs_rps'])}" if len(r.get("runs_rps", ())) > 1 else ""
        flags += " (wrapped)" if r.get("wrapped") and r.get("records") else ""
        flags += f" ({r['non_2xx']} non-2xx)" if r.get("non_2xx") else ""
        rows.append((
            r["format"], r["label"] + flags, f"{r['rps']:.0f}",
            f"{r['p50_us'] / 1000:.2f}", f"{r['p99_us'] / 1000:.2f}",
            _cell(r.get("ratio"), ".2f"), _cell(r.get("ratio_asgi"), ".2f"),
            _cell(r.get("ratio_handwritten"), ".2f"), verdict,
        ))  # fmt: skip
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return lines + ["| " + " | ".join(row) + " |" for row in rows]
    widths = [max(len(str(x)) for x in column) for column in zip(head, *rows, strict=True)]
    numeric = {2, 3, 4, 5, 6, 7}
    return [
        "  ".join(
            str(cell).rjust(width) if i in numeric else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in (head, *rows)
    ]


def large_lines(large: list[Result], markdown: bool = False) -> list[str]:
    """The large-body results as table lines."""
    head = (
        "body", "MB", "at once", "store", "ack ms", "bare parse ms", "x parse",
        "RSS growth MB", "x body", "bare parse RSS MB",
    )  # fmt: skip
    rows = [
        (
            r["kind"],
            f"{r['size'] / 1e6:.0f}",
            str(r["concurrency"]),
            r["store"],
            f"{r['ack_ms']:.0f}",
            f"{r['parse_ms']:.0f}",
            f"{r['ack_ms'] / r['parse_ms']:.2f}",
            f"{r['rss_growth'] / 1e6:.0f}",
            f"{r['rss_ratio']:.2f}",
            f"{r['parse_rss_growth'] / 1e6:.0f}",
        )
        for r in large
        if "ack_ms" in r
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return lines + ["| " + " | ".join(row) + " |" for row in rows]
    widths = [max(len(str(x)) for x in column) for column in zip(head, *rows, strict=True)]
    return [
        "  ".join(str(c).rjust(w) for c, w in zip(line, widths, strict=True))
        for line in (head, *rows)
    ]


def chart(results: list[Result], path: Path, title: str) -> None:
    """A horizontal bar chart of each setup's ratio to the bare ASGI app, targets marked."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    formats = sorted({r["format"] for r in results})
    labels = list(dict.fromkeys(r["label"] for r in results))
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(labels) * len(formats) + 1.6))
    height = 0.8 / len(formats)
    colors = {"json": "#4C72B0", "xml": "#DD8452"}
    for offset, fmt in enumerate(formats):
        values, targets = [], []
        for label in labels:
            match = [r for r in results if r["label"] == label and r["format"] == fmt]
            values.append((match[0].get("ratio_asgi") or 0.0) if match else 0.0)
            targets.append(match[0].get("target_asgi") if match else None)
        ys = [i + offset * height for i in range(len(labels))]
        bars = ax.barh(ys, values, height=height, color=colors.get(fmt), label=fmt)
        for bar, value in zip(bars, values, strict=True):
            ax.text(bar.get_width() + 0.01, bar.get_y() + height / 2, f"{value:.2f}",
                    va="center", fontsize=7)  # fmt: skip
        for y, target in zip(ys, targets, strict=True):
            if target is not None:
                ax.plot([target, target], [y - height / 2, y + height / 2], color="black", lw=2)
    ax.set_yticks([i + height * (len(formats) - 1) / 2 for i in range(len(labels))])
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("requests/s relative to the bare ASGI app, same run (black tick: target)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
