"""INT8 calibration: a calibration-data reader over images or video frames that makes the cascade's own crops,
ONNX Runtime static quantisation (QDQ) for CPU, and the TensorRT entropy calibrator with its cache for GPU."""
