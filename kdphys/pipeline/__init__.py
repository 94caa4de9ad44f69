"""From frames to per-sample signals and readings, one path for uploads, live, evaluation and training:
``resample`` (true timestamps onto a uniform grid), ``segments`` (a windowed method over a stream),
``engine`` (tracker + resampler + method + readings, one frame at a time), ``upload`` (a whole file),
``live`` (a webcam session), ``extract`` (every sample of a recording, for evaluation and training)."""
