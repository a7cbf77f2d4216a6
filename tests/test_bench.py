"""`pose-track bench`: where the tracking loop's time goes, and a stage-1 latency taken next to the loop."""
import json
import os
import time

from click.testing import CliRunner

from pose_track.cli import cli
from pose_track.engines.timing import PartTimes

from conftest import REPO, SHARED_DATA


def test_part_times_count_the_calls_of_each_part_and_a_part_inside_another_only_as_itself():
    times = PartTimes()
    with times("re-acquisition"):
        for _ in range(3):
            with times("stage 1"):
                time.sleep(0.002)
    with times("stage 1"):
        pass
    assert times.calls == {"stage 1": 4, "re-acquisition": 1}
    assert times.seconds["stage 1"] >= 0.006
    assert times.seconds["re-acquisition"] < times.seconds["stage 1"]


def test_bench_gives_the_loops_stage_1_calls_and_a_latency_measured_after_the_loop(lsp_data, tmp_path):
    out = tmp_path / "bench.json"
    int8 = os.path.join(REPO, "models", "deeppose_lsp", "int8")
    res = CliRunner().invoke(cli, ["bench", "--engine", int8, "--data", SHARED_DATA, "--images", "0", "--runs", "2",
                                   "--frames", "6", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "stage 1 calls/frame, ms/call" in res.output and "stage 1 (batch 1) after" in res.output
    (result,) = json.loads(out.read_text())
    tracking = result["tracking"]
    assert tracking["stage1_calls"] >= tracking["frames"] == 6      # one look a frame at least
    assert 0 < tracking["stage1_ms_per_call"] < 1000.0
    assert result["stage1_after"]["runs"] == 2 and result["stage1_after"]["median_ms"] > 0
