"""`drill report N`: reports/drill-N.md and .html, with a chart (matplotlib, SVG) of the
synthetic load's success rate and latency over the drill, and each target passed or failed."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

from jobnaut.ops.context import Env
from jobnaut.ops.drills.catalogue import SCENARIOS
from jobnaut.ops.drills.store import DrillRecord

BUCKET = 1.0  # seconds per point of the chart


def write(env: Env, record: DrillRecord, directory: Path | None = None) -> list[Path]:
    out = directory or env.home.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    svg = chart(record)
    stem = f"drill-{record.id}"
    (out / f"{stem}.svg").write_text(svg)
    (out / f"{stem}.md").write_text(markdown(record, f"{stem}.svg"))
    (out / f"{stem}.html").write_text(page(record, svg))
    return [out / f"{stem}.md", out / f"{stem}.html", out / f"{stem}.svg"]


def series(record: DrillRecord) -> dict[str, list[float]]:
    """Per second since the first request: success rate (%), p95 latency (ms), requests."""
    if not record.samples:
        return {"t": [], "success": [], "p95_ms": [], "requests": []}
    start = min(s[0] for s in record.samples)
    buckets: dict[int, list[list[Any]]] = {}
    for sample in record.samples:
        buckets.setdefault(int((sample[0] - start) // BUCKET), []).append(sample)
    t, success, p95, count = [], [], [], []
    for key in range(max(buckets) + 1):
        items = buckets.get(key, [])
        t.append(key * BUCKET)
        count.append(float(len(items)))
        success.append(100.0 * sum(1 for s in items if s[2]) / len(items) if items else 0.0)
        latencies = sorted(s[4] * 1000 for s in items)
        p95.append(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
                   if latencies else 0.0)
    return {"t": t, "success": success, "p95_ms": p95, "requests": count}


def chart(record: DrillRecord) -> str:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot as plt

    data = series(record)
    start = min((s[0] for s in record.samples), default=0.0)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    try:
        top.plot(data["t"], data["success"], color="tab:green", drawstyle="steps-post")
        top.set_ylabel("requests OK (%)")
        top.set_ylim(-5, 105)
        bottom.plot(data["t"], data["p95_ms"], color="tab:blue", drawstyle="steps-post")
        bottom.set_ylabel("p95 latency (ms)")
        bottom.set_xlabel("seconds since the load started")
        for phase in record.phases:
            if start and phase["at"] >= start:
                for axis in (top, bottom):
                    axis.axvline(phase["at"] - start, color="grey", linestyle=":",
                                 linewidth=0.8)
                top.annotate(phase["name"][:28], (phase["at"] - start, 102), fontsize=6,
                             rotation=30, va="bottom")
        fig.suptitle(f"Drill #{record.id}: {record.scenario} ({record.status})")
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _rows(record: DrillRecord) -> list[tuple[str, str]]:
    m = record.metrics
    return [("time to detect", f"{m.get('detect_seconds')} s"),
            ("time to restore (MTTR)", f"{m.get('mttr_seconds')} s"),
            ("requests / failed", f"{m.get('requests')} / {m.get('failed_requests')}"),
            ("acknowledged writes", str(m.get("acknowledged_writes"))),
            ("writes in doubt (no answer)", str(m.get("in_doubt_writes", 0))),
            ("missing afterwards (RPO)", f"{m.get('rpo_rows')} rows"),
            ("announced by the restore", str(m.get("announced_rows", "-"))),
            ("backup restore time (RTO)", f"{m.get('rto_seconds')} s"
             if m.get("rto_seconds") is not None else "-")]


def markdown(record: DrillRecord, chart_file: str) -> str:
    scenario = SCENARIOS.get(record.scenario)
    lines = [f"# Drill #{record.id}: {record.scenario} — {record.status.upper()}", "",
             f"Plan section: {scenario.section if scenario else '-'}  ",
             f"Started {record.started_at}, finished {record.finished_at}", ""]
    if record.error:
        lines += [f"**Error:** {record.error}", ""]
    lines += ["| figure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in _rows(record)]
    lines += ["", "## Targets (`[drill]` in jobnaut.toml)", "",
              "| target | limit | measured | result |", "|---|---|---|---|"]
    lines += [f"| {v['target']} | {v['limit']} | {v['value']} | "
              f"{'pass' if v['passed'] else 'FAIL'} |" for v in record.verdicts]
    lines += ["", "## Parts", ""]
    lines += [f"- {p['case']}: detect {p['detect_seconds']} s, MTTR {p['mttr_seconds']} s"
              + (f", caught: {p['caught']}" if p["case"] in ("backup", "config: encryption key")
                 else "") + (f" — {p['detail']}" if p["detail"] else "")
              for p in record.metrics.get("parts", [])]
    lines += ["", f"![success and latency over the drill]({chart_file})", "", "## Timeline", ""]
    lines += [f"- {_clock(p['at'])} {p['name']}" + (f" — {p['detail']}" if p["detail"] else "")
              for p in record.phases]
    return "\n".join(lines) + "\n"


def page(record: DrillRecord, svg: str) -> str:
    figures = "".join(f"<tr><th>{html.escape(n)}</th><td>{html.escape(v)}</td></tr>"
                      for n, v in _rows(record))
    targets = "".join(
        f"<tr class=\"{'pass' if v['passed'] else 'fail'}\"><td>{html.escape(v['target'])}"
        f"</td><td>{html.escape(str(v['limit']))}</td><td>{html.escape(str(v['value']))}</td>"
        f"<td>{'pass' if v['passed'] else 'FAIL'}</td></tr>" for v in record.verdicts)
    phases = "".join(f"<li>{_clock(p['at'])} {html.escape(p['name'])} "
                     f"{html.escape(p['detail'])}</li>" for p in record.phases)
    error = f"<p class=\"fail\">Error: {html.escape(record.error)}</p>" if record.error else ""
    svg_body = svg[svg.find("<svg"):]  # inline, without the XML prolog
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Drill #{record.id}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto}}
td,th{{padding:.2rem .6rem;text-align:left}}.pass{{color:#176}}.fail{{color:#b00}}</style>
</head><body><h1>Drill #{record.id}: {html.escape(record.scenario)} —
<span class="{'pass' if record.passed else 'fail'}">{html.escape(record.status)}</span></h1>
{error}<table>{figures}</table><h2>Targets</h2>
<table><tr><th>target</th><th>limit</th><th>measured</th><th>result</th></tr>{targets}</table>
<h2>Success and latency</h2>{svg_body}<h2>Timeline</h2><ul>{phases}</ul></body></html>
"""


def _clock(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S.%f")[:-3]
