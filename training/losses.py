"""Regression losses on normalised coordinates, masked per joint."""


def masked_l1(pred, target, mask):
    per_joint = (pred - target).abs().sum(-1)
    return (per_joint * mask).sum() / mask.sum().clamp(min=1)


def masked_l2(pred, target, mask):
    """The paper's loss: squared Euclidean error per joint."""
    per_joint = ((pred - target) ** 2).sum(-1)
    return (per_joint * mask).sum() / mask.sum().clamp(min=1)


LOSSES = {"l1": masked_l1, "l2": masked_l2}
