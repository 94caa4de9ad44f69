"""From frames to per-sample signals and readings, one path for uploads, live, evaluation and training:
``resample`` (true timestamps onto a uniform grid),
``engine`` (tracker + resampler + method in its windows + readings, one frame at a time), ``upload`` (a whole file),
``live`` (a webcam session), ``extract`` (every sample of a recording, for evaluation and training)."""
