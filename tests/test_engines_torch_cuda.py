"""The torch backend on CUDA (fp32, fp16, CUDA graphs) against torch on the CPU, on crops of a real person:
skipped without a CUDA device. (On noise crops the heatmaps are flat and a peak can move with rounding.)"""
import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)
pytest.importorskip("skimage")

from pose_track.commands.demo import sample_photo_path
from pose_track.engines.backends import DEFAULT_CHECKPOINT as SHIPPED
from pose_track.engines.cascade import Cascade, fill_crops
from pose_track.engines.joints import NUM_JOINTS
from pose_track.engines.torch_backend import load_torch_backend

PHOTO = sample_photo_path()


@pytest.fixture(scope="module")
def cpu():
    return load_torch_backend(SHIPPED, device="cpu")


@pytest.fixture(scope="module")
def crops(cpu):
    """{stage: [two batches of real crops]}: stage 1 on boxes around the astronaut, the refiner on the crops
    around the joints that stage 1 places."""
    image = cv2.imread(PHOTO)
    arch = cpu.config.architecture
    out = {0: [], 1: []}
    for boxes in (np.array([[256, 256, 512]], np.float32), np.array([[256, 230, 420], [240, 280, 600],
                                                                     [270, 250, 480]], np.float32)):
        batch = fill_crops(image, boxes[:, :2], boxes[:, 2], arch.stage1_input,
                           np.zeros((len(boxes), 3, arch.stage1_input, arch.stage1_input), np.float32), True)
        out[0].append(batch)
        joints = Cascade(cpu, cpu.config, stages=1).predict(image, boxes[:1]).joints[0]
        sides = np.full(NUM_JOINTS, 0.3 * boxes[0, 2] * (1 + 0.1 * len(out[1])), np.float32)
        out[1].append(fill_crops(image, joints, sides, arch.refiner_input,
                                 np.zeros((NUM_JOINTS, 3, arch.refiner_input, arch.refiner_input), np.float32), True))
    return out


@pytest.mark.parametrize("half, graphs, tol", [(False, False, 5e-3), (False, True, 5e-3), (True, False, 2e-2),
                                                (True, True, 2e-2)])
def test_cuda_agrees_with_the_cpu_per_stage(cpu, crops, half, graphs, tol):
    gpu = load_torch_backend(SHIPPED, device="cuda", half=half, cuda_graphs=graphs)
    for stage in (0, 1):
        for k in (0, 1, 0):     # a replayed graph must read each new input, and batch sizes change
            x = crops[stage][k]
            want, got = cpu.run(stage, x), gpu.run(stage, x)
            assert len(want) == len(got)
            for w, g in zip(want, got):
                assert g.shape == w.shape and g.dtype == np.float32
                diff = np.abs(g - w)
                # Where two heatmap peaks are nearly equal, rounding may pick the other: a few joints may move.
                assert np.median(diff) <= tol / 4 and np.mean(diff <= tol) >= 0.9, (stage, k, diff.max())


def test_cuda_cascade_places_the_same_joints(cpu):
    image = cv2.imread(PHOTO)
    boxes = np.array([[256, 256, 512]], np.float32)
    want = Cascade(cpu, cpu.config).predict(image, boxes)
    gpu = load_torch_backend(SHIPPED, device="cuda", half=True, cuda_graphs=True)
    got = Cascade(gpu, gpu.config).predict(image, boxes)
    assert np.median(np.abs(got.stages[0] - want.stages[0])) <= 0.005 * 512
    assert np.abs(got.presence - want.presence).max() <= 0.02


def test_video_on_cuda_writes_what_the_cpu_writes(cpu, tmp_path):
    """`pose-track video --engine CHECKPOINT --cuda --half --cuda-graphs`: the same frames found, joints within a
    few pixels of torch on the CPU."""
    from click.testing import CliRunner

    import pose_track.commands.video as commands
    from pose_track.tracker.sinks import read_pose_csv

    clip = tmp_path / "still.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 25, (512, 512))
    for _ in range(12):
        writer.write(cv2.imread(PHOTO))
    writer.release()
    rows = {}
    for name, extra in (("cpu", []), ("gpu", ["--cuda", "--half", "--cuda-graphs"])):
        out = tmp_path / f"{name}.csv"
        res = CliRunner().invoke(commands.video, [str(clip), "--csv", str(out), "--engine", SHIPPED, *extra])
        assert res.exit_code == 0, res.output
        rows[name] = next(iter(read_pose_csv(out).values()))
    want, got = rows["cpu"], rows["gpu"]
    assert len(want["frame"]) == len(got["frame"]) == 12
    found_cpu, found_gpu = np.isfinite(want["joints"]).any((1, 2)), np.isfinite(got["joints"]).any((1, 2))
    assert (found_cpu == found_gpu).all() and found_cpu.any()
    both = np.isfinite(want["joints"]) & np.isfinite(got["joints"])
    assert np.median(np.abs(want["joints"][both] - got["joints"][both])) <= 3
