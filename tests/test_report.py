"""HTML/Markdown report: self-contained, parses, embeds valid PNGs, shows the headline numbers and every operator."""
import base64
import runpy
import sys
from html.parser import HTMLParser

import pytest

from sim.cli import main
from sim.report_html import build_content, render_html, write_html, write_markdown
from sim.single import simulate


class Collect(HTMLParser):
    """Tags, attributes and text of a document; fails on nothing (html.parser is lenient), so we count."""

    def __init__(self):
        super().__init__()
        self.imgs, self.links, self.scripts, self.text, self.rows = [], [], [], [], 0
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag in ("link", "a") and a.get("href"):
            self.links.append(a["href"])
        if tag == "script":
            self.scripts.append(a)
        self.rows += tag == "tr"
        self.tables += tag == "table"

    def handle_data(self, data):
        self.text.append(data)


def png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def small():
    return simulate("llama3.2-1b", "h100-sxm", batch=2, seq_len=1024, micro_batch=1)


@pytest.fixture(scope="module")
def doc(small):
    html = render_html(build_content(small, sweep=[{"tp": 1, "mfu": 0.41}, {"tp": 2, "mfu": 0.39}]))
    p = Collect()
    p.feed(html)
    p.close()
    return html, p


def test_self_contained(doc):
    """Every image is a base64 PNG data URI; no external links, scripts or stylesheets."""
    html, p = doc
    assert len(p.imgs) == 4 and not p.links and not p.scripts
    assert all(src.startswith("data:image/png;base64,") for src in p.imgs)
    assert "http://" not in html and "https://" not in html
    sizes = [png_size(base64.b64decode(src.split(",", 1)[1])) for src in p.imgs]
    assert sizes[0] == (1100, 700)      # the roofline


def test_headline_numbers_present(doc, small):
    """Step time, MFU, HFU, tokens/s and peak memory appear as the report formats them."""
    text = " ".join(doc[1].text)
    for s in (f"{small.mfu * 100:.1f} %", f"{small.hfu * 100:.1f} %", f"{small.tokens_per_s:,.0f} tokens/s",
              f"{small.memory.peak / 2**30:.2f}", f"{small.step_time_s * 1e3:.2f} ms"):
        assert s in text, s
    assert small.model in text and "yes" in text


def test_every_operator_and_sweep_row(doc, small):
    """The operator table has a row per operator; the sweep rows are shown."""
    text = " ".join(doc[1].text)
    assert all(o.name in text for o in small.ops)
    assert "Sweep results" in text and "0.41" in text
    assert doc[1].rows >= len(small.ops) + 2 + len(small.config)


def test_engine_timeline_accepted_and_checked(small, tmp_path):
    """An engine timeline (stage, stream, start, end, label) replaces the phase bars; bad spans are errors."""
    tl = [(0, "compute", 0.0, 0.01, "fwd 0"), (1, "comm", 0.005, 0.02, "comm send")]
    path = write_html(small, tmp_path / "r.html", timeline=tl)
    assert "engine timeline" in path.read_text()
    with pytest.raises(ValueError, match="timeline span"):
        build_content(small, timeline=[(0, "compute", 1.0, 0.5, "x")])


def test_markdown_with_pngs(small, tmp_path):
    """--format md: a Markdown file referencing PNG files written beside it."""
    md, pngs = write_markdown(small, tmp_path / "out")
    text = md.read_text()
    assert md.name == "report.md" and len(pngs) == 4
    for p in pngs:
        assert f"]({p.name})" in text and png_size(p.read_bytes())
    assert f"{small.mfu * 100:.1f} %" in text


def test_cli_html_and_md(tmp_path, capsys):
    """`roofsim report` writes the HTML (or Markdown) and prints where."""
    args = ["report", "--model", "llama3.2-1b", "--batch", "2", "--seq-len", "1024"]
    assert main([*args, "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert main([*args, "--format", "md", "--out", str(tmp_path / "m.md")]) == 0
    assert (tmp_path / "m_roofline.png").exists()
    assert str(tmp_path / "r.html") in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "r.pdf")]) == 2


def test_example_roofline_report(tmp_path, monkeypatch):
    """examples/roofline_report.py writes roofline.png and report.html into the folder given."""
    monkeypatch.setattr(sys, "argv", ["roofline_report.py", str(tmp_path), "llama3.2-1b"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_path("examples/roofline_report.py", run_name="__main__")
    assert exc.value.code == 0
    assert png_size((tmp_path / "roofline.png").read_bytes()) == (1100, 700)
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()


def test_capacity_plan_section(small):
    """A CapacityPlan given to the report adds its rows and the scaling curves."""
    from hardware.catalog import get_device
    from sim.capacity import placeholder_throughput, plan_capacity
    plan = plan_capacity(placeholder_throughput("llama3.2-1b", "h100-sxm", batch=1, seq_len=1024, micro_batch=1),
                         "1B", "8,16", get_device("h100-sxm"))
    p = Collect()
    p.feed(render_html(build_content(small, plan=plan)))
    assert len(p.imgs) == 5 and "Capacity plan" in " ".join(p.text)
