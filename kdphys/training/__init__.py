"""Training: ``config`` (every knob, typed, from one YAML file), ``losses`` (DILATE, Pearson, attention
transfer), ``loop`` (the training loop and its data)."""
