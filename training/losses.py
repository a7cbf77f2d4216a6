"""Regression losses on normalised coordinates, masked per joint, and the heatmap shape loss."""


def masked_l1(pred, target, mask):
    per_joint = (pred - target).abs().sum(-1)
    return (per_joint * mask).sum() / mask.sum().clamp(min=1)


def masked_l2(pred, target, mask):
    """The paper's loss: squared Euclidean error per joint."""
    per_joint = ((pred - target) ** 2).sum(-1)
    return (per_joint * mask).sum() / mask.sum().clamp(min=1)


def heatmap_kl(logits, target, mask, input_size: int, stride: int, sigma_cells: float = 1.0):
    """KL(Gaussian at the target || softmax(logits)) per joint, masked: an auxiliary loss for integral heads.

    Soft-argmax alone accepts any distribution with the right mean (wide or multi-modal ones too); pulling it
    towards a peak of `sigma_cells` heatmap cells trains faster and makes the spread a usable uncertainty.
    """
    import torch
    from pose_track.engines.model import cell_centres

    b, j, h, w = logits.shape
    xs, ys = cell_centres(w, input_size, stride, logits), cell_centres(h, input_size, stride, logits)
    var = 2.0 * (sigma_cells * stride / input_size) ** 2
    gx = -((xs[None, None, :] - target[..., :1]) ** 2) / var          # (b, j, w)
    gy = -((ys[None, None, :] - target[..., 1:]) ** 2) / var          # (b, j, h)
    log_t = (gy[..., :, None] + gx[..., None, :]).reshape(b, j, h * w)
    log_t = log_t - torch.logsumexp(log_t, -1, keepdim=True)
    log_p = torch.log_softmax(logits.reshape(b, j, h * w), -1)
    kl = (log_t.exp() * (log_t - log_p)).sum(-1)
    return (kl * mask).sum() / mask.sum().clamp(min=1)


LOSSES = {"l1": masked_l1, "l2": masked_l2}
