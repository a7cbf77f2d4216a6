"""Training: datasets (LSP, LSP-extended), augmentation, losses, the training loop, metrics."""
