"""Synthetic train/val sets on disk, in the folder format that kdphys.data.VideoFolder reads.

    paths = build_synthetic_set("runs/synthetic", SyntheticSetConfig(n_train=24, n_val=6))
    paths.train_dir, paths.val_dir        # each: clip_000.mp4 + .csv + .json, plus manifest.json

Every clip draws its own heart rate (uniform over ``hr_range_bpm``), pulse strength, skin tone, head
motion, lighting drift and flicker, sensor noise, background and H.264 quality (crf) from one seeded
generator; the drawn values and
each clip's seed are written to ``manifest.json`` so that a set can be rebuilt exactly. A set that is
already on disk with the same settings is reused (its manifest is compared), so building is idempotent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdphys.errors import NotPrepared
from kdphys.training.config import SyntheticSetConfig

SPLIT_SEED_OFFSET = {"train": 0, "val": 100_003, "test": 200_003}
#: Settings added after sets were first written, with the value that reproduces the older sets: left out of
#: manifests and fingerprints at that value, so that those sets (and their chunk caches) stay valid.
LATER_FIELDS_OFF = {"pulse_rgb_jitter": 0.0}


@dataclass(frozen=True)
class SyntheticSetPaths:
    root: Path
    train_dir: Path
    val_dir: Path


def draw_clip_settings(rng: np.random.Generator, cfg: SyntheticSetConfig, clip_seed: int) -> dict:
    """One clip's SyntheticConfig keyword arguments plus its H.264 crf, drawn from ``rng``.

    About a third of the clips get stronger nuisances; ``cfg.nuisance`` scales all of them (0 = clean).
    With ``cfg.pulse_rgb_jitter`` > 0 the R and B pulse amplitudes (relative to green) are scaled by
    exp(N(0, jitter)) each: the pulse colour signature differs between cameras and skins.
    """
    k = cfg.nuisance * (3.0 if rng.random() < 0.3 else 1.0)
    settings = {
        "hr_bpm": float(rng.uniform(*cfg.hr_range_bpm)),
        "duration_s": float(cfg.duration_s),
        "size": [int(v) for v in cfg.size_hw],
        "hrv_bpm": float(rng.uniform(0.5, 3.0)),
        "pulse_amplitude": float(rng.uniform(*cfg.pulse_amplitude_range)),
        "motion_px": float(rng.uniform(0.0, 1.0) * k * min(cfg.size_hw) / 100),
        "rotation_deg": float(rng.uniform(0.0, 1.5) * k),
        "scale_jitter": float(min(rng.uniform(0.0, 0.01) * k, 0.1)),
        "motion_kind": str(rng.choice(["smooth", "periodic", "both"])),
        "illumination_drift": float(min(rng.uniform(0.0, 0.02) * k, 0.5)),
        "flicker_hz": float(rng.choice([0.0, 0.0, 0.5, 100.0])),
        "flicker_amplitude": float(min(rng.uniform(0.0, 0.004) * k, 0.5)),
        "noise_std": float(rng.uniform(0.5, 1.5) * max(k, 0.3)),
        "skin_tone": float(rng.uniform(-1.0, 1.0)),
        "face_scale": float(rng.uniform(0.9, 1.3)),
        "flip": bool(rng.random() < 0.5),
        "background": str(rng.choice(["gradient", "solid", "texture"])),
        "seed": int(clip_seed),
        "crf": int(rng.choice(list(cfg.crf_choices))),
    }
    if cfg.pulse_rgb_jitter > 0:     # drawn last: sets without jitter keep every other value they had
        from kdphys.data.synthetic import PBV_RGB
        red, blue = PBV_RGB[[0, 2]] * np.exp(rng.normal(0.0, cfg.pulse_rgb_jitter, 2))
        settings["pulse_rgb"] = [float(red), 1.0, float(blue)]
    return settings


def write_split(out_dir: Path, n_clips: int, cfg: SyntheticSetConfig, split: str, write: bool = True) -> Path:
    """Write ``n_clips`` clips of one split into ``out_dir`` (skipped when its manifest matches; with
    ``write=False`` a missing or different set raises NotPrepared instead)."""
    from kdphys.data.synthetic import SyntheticConfig, write_clip

    out_dir = Path(out_dir)
    seed = cfg.seed + SPLIT_SEED_OFFSET[split]
    rng = np.random.default_rng(seed)
    clips = [draw_clip_settings(rng, cfg, clip_seed=seed * 1000 + i) for i in range(n_clips)]
    manifest = {"split": split, "set_config": set_config_dict(cfg), "clips": {}}
    for i, settings in enumerate(clips):
        manifest["clips"][f"clip_{i:03d}"] = settings
    manifest_path = out_dir / "manifest.json"
    if manifest_path.is_file() and json.loads(manifest_path.read_text()) == json.loads(json.dumps(manifest)):
        return out_dir
    if not write:
        raise NotPrepared(f"The synthetic {split} set in {out_dir} is missing or was made with other settings.")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, settings in manifest["clips"].items():
        settings = dict(settings)
        crf = settings.pop("crf")
        settings["size"] = tuple(settings["size"])
        write_clip(SyntheticConfig(**settings), out_dir, name=name, codec="h264", crf=crf)   # streamed
    manifest_path.write_text(json.dumps(manifest, indent=1))
    return out_dir


def set_config_dict(cfg: SyntheticSetConfig) -> dict:
    """The set's settings as written to manifests, without later fields at their "off" value."""
    values = dataclasses.asdict(cfg)
    for key, off in LATER_FIELDS_OFF.items():
        if values.get(key) == off:
            values.pop(key)
    return values


def set_fingerprint(cfg: SyntheticSetConfig) -> str:
    """Short hash of the set's settings (chunk caches of different sets never mix)."""
    text = json.dumps(set_config_dict(cfg), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def build_synthetic_set(root: str | Path, cfg: SyntheticSetConfig, write: bool = True) -> SyntheticSetPaths:
    """Write (or reuse) ``root/train`` and ``root/val``; the two splits use disjoint seeds. ``write=False``:
    only reuse (NotPrepared when a split is missing)."""
    root = Path(root)
    train_dir = write_split(root / "train", cfg.n_train, cfg, "train", write)
    val_dir = write_split(root / "val", cfg.n_val, cfg, "val", write)
    return SyntheticSetPaths(root=root, train_dir=train_dir, val_dir=val_dir)
