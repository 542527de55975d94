"""One self-contained report of a simulated step: HTML (PNGs as base64 data URIs, inline CSS, no external
assets) or Markdown with PNG files beside it. Configuration, headline numbers, roofline, time and memory
breakdowns, timeline, per-operator table, energy, optional sweep/plan tables, provenance."""
from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from sim.results import StepResult

GiB = 2**30

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1150px;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.sub{color:#666;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #ddd;border-radius:6px;padding:.5em .9em;min-width:9em}
.card .v{font-size:1.3em;font-weight:600}.card .k{color:#666;font-size:.85em}.bad{color:#c00}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .5em}
th{background:#f4f4f4;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee}figure{margin:.8em 0}figcaption{color:#555;font-size:.85em}
.note{color:#555;font-size:.9em}
"""


def _t(s: float) -> str:
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:.4g}"
    return str(v)


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]
    numeric: set[int] = field(default_factory=set)   # columns aligned right


@dataclass
class ReportContent:
    """What a report shows, independent of the format it is written in."""

    title: str
    subtitle: str
    headline: list[tuple[str, str, bool]]          # (label, value, bad)
    figures: list[tuple[str, str, bytes]]          # (file stem, caption, PNG bytes)
    tables: list[Table]
    notes: list[str]


def _rows_of(data) -> list[dict]:
    """Rows of a DataFrame-like object: a pandas DataFrame, a sequence of dicts or of objects with to_dict()."""
    if data is None:
        return []
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return list(data.to_dict("records"))
    rows = []
    for r in data:
        rows.append(r if isinstance(r, dict) else r.to_dict() if hasattr(r, "to_dict") else vars(r))
    return rows


def _table_from_rows(title: str, rows: Sequence[dict], limit: int = 200) -> Table:
    keys: list[str] = []
    for r in rows:
        keys += [k for k, v in r.items() if k not in keys and not isinstance(v, (dict, list, tuple))]
    body = [[r.get(k, "") for k in keys] for r in rows[:limit]]
    numeric = {i for i, k in enumerate(keys) if all(isinstance(row[i], (int, float)) for row in body if row[i] != "")}
    return Table(title + (f" (first {limit} of {len(rows)})" if len(rows) > limit else ""), keys, body, numeric)


def build_content(result: StepResult, device=None, profile=None, timeline=None, sweep=None, plan=None,
                  power=None, title: str | None = None, top_ops: int | None = None) -> ReportContent:
    """Compute every figure and table of the report of `result` (device and profile default to the
    catalog entry of result.hardware and its shipped profile)."""
    from hardware.catalog import get_device
    from hardware.perf import profile_for
    from sim.plots import plot_breakdown, plot_memory, plot_roofline, plot_timeline
    from sim.power import estimate_power

    device = device or get_device(result.hardware)
    profile = profile or profile_for(device)
    mem = result.memory
    headline = [("step time", _t(result.step_time_s), False),
                ("throughput", f"{result.tokens_per_s:,.0f} tokens/s", False),
                ("MFU", f"{result.mfu * 100:.1f} %", False), ("HFU", f"{result.hfu * 100:.1f} %", False),
                ("model TFLOP/s per GPU", f"{result.tflops_per_gpu:.0f}", False),
                ("peak memory", f"{mem.peak / GiB:.2f} of {mem.capacity / GiB:.2f} GiB", not mem.fits),
                ("fits", "yes" if mem.fits else f"NO (over by {mem.overflow / GiB:.2f} GiB)", not mem.fits)]
    if power is None and device.tdp_w > 0:
        power = estimate_power(result, device)
    if power is not None:
        headline.append(("energy per token", f"{power.energy_per_token_j:.3g} J", False))

    def png(fn, *a, **kw) -> bytes:
        buf = io.BytesIO()
        fn(*a, buf, **kw)
        return buf.getvalue()

    figures = [("roofline", f"Roofline of {device.name} with every operator of the step (marker area = share of "
                            "device time).", png(plot_roofline, result, device, profile)),
               ("time_breakdown", "Seconds per step by category.", png(plot_breakdown, result)),
               ("memory", "Peak memory per GPU by category, with the usable capacity.", png(plot_memory, mem)),
               ("timeline", "Timeline of one step" + (" (engine timeline)." if timeline is not None else
                                                     ": phases from the op table, split evenly over micro-batches."),
                png(lambda r, p: plot_timeline(r, p, timeline=timeline), result))]

    cfg = {"model": result.model, "hardware": result.hardware, "GPUs": result.n_gpus, **dict(result.config)}
    tables = [Table("Configuration", ["setting", "value"], [[k, v] for k, v in cfg.items()])]
    dev_total = sum(o.time_s for o in result.ops) or 1.0
    ops = result.ops if top_ops is None else result.ops[:top_ops]
    tables.append(Table(
        "Operators (all repetitions; share of summed device time)",
        ["operator", "kind", "phase", "category", "count", "time", "share %", "TFLOP/s", "FLOP/byte", "bound"],
        [[o.name, o.kind, o.phase, o.category, o.count, _t(o.time_s), round(o.time_s / dev_total * 100, 2),
          round(o.achieved_flops / 1e12, 1), round(o.intensity, 1) if math.isfinite(o.intensity) else "inf", o.bound]
         for o in ops], {4, 5, 6, 7, 8}))
    if power is not None:
        tables.append(Table("Power and energy (model and assumptions: sim/power.py)", ["quantity", "value"], [
            ["utilisation u", f"{power.utilization:.3f} (compute share {power.compute_share:.3f}, memory share "
                              f"{power.memory_share:.3f}, other {power.other_share:.3f})"],
            ["GPU board power", f"{power.gpu_w:.0f} W per GPU"], ["network power", f"{power.network_w:.1f} W per GPU"],
            ["host power", f"{power.host_w:.0f} W per GPU"], ["PUE", f"{power.pue:g}"],
            ["facility power", f"{power.facility_w:,.0f} W"],
            ["energy per step", f"{power.energy_per_step_j:,.4g} J"],
            ["energy per token", f"{power.energy_per_token_j:.4g} J"]]))
    if sweep is not None:
        tables.append(_table_from_rows("Sweep results", _rows_of(sweep)))
    if plan is not None:
        rows = plan.rows if hasattr(plan, "rows") else plan
        tables.append(_table_from_rows("Capacity plan", _rows_of(rows)))
        if hasattr(plan, "rows") and plan.rows:
            from sim.plots import plot_scaling
            figures.append(("scaling", "Capacity plan: throughput and MFU against GPUs.", png(plot_scaling, plan.rows)))
    tables.append(Table("Provenance", ["source", "value"],
                        [[k, v] for k, v in dict(result.provenance).items()] +
                        [["generated", _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")],
                         ["generator", "roofsim (sim/report_html.py)"]]))
    return ReportContent(title=title or f"roofsim report: {result.model} on {result.n_gpus} x {result.hardware}",
                         subtitle=", ".join(f"{k}={v}" for k, v in result.config.items()),
                         headline=headline, figures=figures, tables=tables, notes=list(result.notes))


def _html_table(t: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in t.numeric else ""}>{e(_num(v))}</td>'
                                    for i, v in enumerate(row)) + "</tr>" for row in t.rows)
    return f"<h2>{e(t.title)}</h2>\n<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(c: ReportContent) -> str:
    """The report as one HTML document with no external references."""
    e = html.escape
    cards = "".join(f'<div class="card"><div class="v{" bad" if bad else ""}">{e(v)}</div><div class="k">{e(k)}'
                    f"</div></div>" for k, v, bad in c.headline)
    figs = "".join(f'<h2>{e(stem.replace("_", " ").capitalize())}</h2><figure><img alt="{e(stem)}" '
                   f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'
                   f"<figcaption>{e(cap)}</figcaption></figure>" for stem, cap, data in c.figures)
    notes = "".join(f'<p class="note">note: {e(n)}</p>' for n in c.notes)
    tables = [_html_table(t) for t in c.tables]
    # configuration first, then the figures, then operators/energy/sweeps, provenance last
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(c.title)}</title>'
            f"<style>{CSS}</style></head><body>\n<h1>{e(c.title)}</h1><p class=sub>{e(c.subtitle)}</p>\n"
            f'<h2>Headline</h2><div class="cards">{cards}</div>{notes}\n{tables[0]}\n{figs}\n'
            + "\n".join(tables[1:]) + "\n</body></html>\n")


def _md_table(t: Table) -> str:
    def cell(v):
        return _num(v).replace("|", "\\|")
    lines = [f"## {t.title}", "", "| " + " | ".join(cell(h) for h in t.header) + " |",
             "|" + "|".join("---:" if i in t.numeric else "---" for i in range(len(t.header))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in t.rows]
    return "\n".join(lines)


def write_html(result: StepResult, path: str | Path, **kw) -> Path:
    """Write the self-contained HTML report of `result` to `path`; keyword arguments go to build_content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(build_content(result, **kw)), encoding="utf-8")
    return path


def write_markdown(result: StepResult, path: str | Path, **kw) -> tuple[Path, list[Path]]:
    """Write `path` (.md; a folder gets report.md) and its PNGs beside it; return (markdown, PNG paths)."""
    path = Path(path)
    if path.suffix.lower() != ".md":
        path = path / "report.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    c = build_content(result, **kw)
    pngs = []
    parts = [f"# {c.title}", "", c.subtitle, "", "## Headline", "",
             *[f"- **{k}**: {v}" for k, v, _ in c.headline], "", *[f"> note: {n}" for n in c.notes], "",
             _md_table(c.tables[0]), ""]
    for stem, cap, data in c.figures:
        png = path.parent / f"{path.stem}_{stem}.png"
        png.write_bytes(data)
        pngs.append(png)
        parts += [f"## {stem.replace('_', ' ').capitalize()}", "", f"![{stem}]({png.name})", "", f"*{cap}*", ""]
    parts += [_md_table(t) + "\n" for t in c.tables[1:]]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path, pngs
