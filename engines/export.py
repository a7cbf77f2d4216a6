"""ONNX export of every stage (placeholder until the engines work lands)."""


def export_bundle(checkpoint: str, out_dir: str) -> str:
    raise NotImplementedError("ONNX export is not written yet")
