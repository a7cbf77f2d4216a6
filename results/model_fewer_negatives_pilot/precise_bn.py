"""Recomputes stage 1's BatchNorm statistics as exact means over many training crops (precise BN) instead of
the momentum average of the last batches. Usage: precise_bn.py OUT.pt MODE BATCHES
MODE: mix (the training mix, negatives included), pos (person crops with the recipe's cuts and real-video
augmentation, no negatives), clean (whole person crops, no cuts, no real-video augmentation)."""
import sys, time, numpy as np, torch
from pose_track.engines.checkpoint import load_checkpoint, build_model, save_checkpoint
from pose_track.training.settings import TrainConfig
from pose_track.training.data import load_sets, load_training_data
from pose_track.training.networks import stage1_crop, to_tensor
from pose_track.training.augment import colour_jitter

out, mode, batches = sys.argv[1], sys.argv[2], int(sys.argv[3])
src = sys.argv[4] if len(sys.argv) > 4 else "models/deeppose_lsp/checkpoint.pt"
torch.set_num_threads(2)
payload = load_checkpoint(src)
settings = dict(payload["train_config"])
cfg = TrainConfig.from_settings({**settings, "data": "../shared/data"})
if mode != "mix":
    cfg.negative_share = 0.0
if mode == "clean":
    cfg.truncate_share, cfg.real_video = 0.0, False
model = build_model(payload)
net = model[0]
net.eval()
bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
ema = mode.startswith("ema")
seed = int(mode[3:]) if ema else 123
if ema:
    mode = "mix"
    cfg.negative_share = settings.get("negative_share", 0.35)
for m in bns:
    if not ema:
        m.reset_running_stats(); m.momentum = None
    m.train()
train_set, val_set = load_sets(cfg)
data = load_training_data(cfg, train_set, val_set, True, None, print)
size = payload["config"].architecture.stage1_input
rng = np.random.default_rng(seed)
t = time.time()
with torch.no_grad():
    for b in range(batches):
        pick = rng.integers(0, len(data.images), cfg.batch_size)
        crops = np.stack([stage1_crop(data, cfg, True, i, size, rng)[0] for i in pick])
        x = to_tensor(crops)
        if mode != 'clean':
            colour_jitter(x, rng, white_balance=cfg.real_video)
        net.train_outputs(x)
        if b % 20 == 0:
            print(b, f"{time.time() - t:.0f}s", flush=True)
stages = [m.state_dict() for m in model]
extra = {k: v for k, v in payload.items() if k not in ("format", "version", "config", "stages", "trained_stages")}
save_checkpoint(out, payload["config"], stages, payload["trained_stages"], **extra)
print("saved", out)
