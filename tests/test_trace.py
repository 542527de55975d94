"""Chrome trace export: microsecond complete events, one thread per stream, metadata names."""
import json

import pytest

from sim.engine import CommPiece, TaskCost, simulate_pipeline
from sim.schedules import build_schedule
from sim.trace import chrome_trace, write_chrome_trace


@pytest.fixture(scope="module")
def result():
    cost = lambda s, c, k: TaskCost(1e-3, (CommPiece("comm:dp", 2e-4, "async"),) if k == "B" else ())  # noqa: E731
    return simulate_pipeline(build_schedule("1f1b", 4, 8), cost, 5e-5)


def test_events_in_microseconds(result):
    """Each timeline event becomes one 'X' event with ts/dur in microseconds."""
    tr = chrome_trace(result)
    xs = [e for e in tr["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == len(result.timeline)
    first = min(xs, key=lambda e: (e["pid"], e["ts"]))
    assert first["ts"] == 0.0 and first["dur"] == pytest.approx(1000.0)
    assert max(e["ts"] + e["dur"] for e in xs) == pytest.approx(result.step_time * 1e6)


def test_one_thread_per_stream_and_names(result):
    """Streams map to the same tid on every stage, and 'M' events name processes and threads."""
    tr = chrome_trace(result)
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in tr["traceEvents"]
             if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {v for (pid, _), v in names.items() if pid == 0} == {"compute", "comm:dp", "comm:pp"}
    for e in tr["traceEvents"]:
        if e["ph"] == "X":
            assert names[(e["pid"], e["tid"])] == e["cat"]
    procs = [e for e in tr["traceEvents"] if e["ph"] == "M" and e["name"] == "process_name"]
    assert len(procs) == 4


def test_stage_selection_and_file(result, tmp_path):
    """Only chosen stages are exported; the file is valid JSON; unknown stages fail."""
    tr = chrome_trace(result, stages=[1, 3])
    assert {e["pid"] for e in tr["traceEvents"]} == {1, 3}
    path = tmp_path / "t.json"
    write_chrome_trace(result, str(path), stages=[0])
    assert json.loads(path.read_text())["traceEvents"]
    with pytest.raises(ValueError, match="stage 9 is not in the timeline"):
        chrome_trace(result, stages=[9])
