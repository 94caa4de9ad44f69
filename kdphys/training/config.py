"""Every training knob in one place: dataclasses, loaded from one small YAML file.

    cfg = load_config("configs/distill.yaml", overrides=["epochs=3", "loss.attention_weight=0.5"])
    cfg.mode, cfg.data.cache_dir, cfg.loss.dilate_alpha

A YAML file only lists what differs from the defaults below; an unknown key is an error that names
the key and the keys that exist (no silent typos). ``overrides`` are ``dotted.key=value`` strings whose
values are parsed as YAML ("3" -> 3, "[0.7, 3.5]" -> list, "null" -> None).
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from kdphys.errors import KDPhysError
from kdphys.models.student import StudentConfig
from kdphys.models.teacher import TeacherConfig

Mode = Literal["teacher", "student", "distill"]


class ConfigError(KDPhysError):
    """A config file or override is wrong (unknown key, bad value). The message says which key."""


@dataclass
class SyntheticSetConfig:
    """A synthetic train/val set written to disk (see kdphys.data.synthetic.sets)."""

    n_train: int = 24                     # clips in the training split
    n_val: int = 6                        # clips in the validation split
    duration_s: float = 12.0
    size_hw: tuple[int, int] = (128, 128)  # frame height, width in pixels
    hr_range_bpm: tuple[float, float] = (40.0, 180.0)
    pulse_amplitude_range: tuple[float, float] = (0.8, 2.0)   # 1 = 0.6 % green peak-to-peak
    nuisance: float = 1.0                 # scales motion, rotation, light drift, flicker, noise (0 = clean)
    crf_choices: tuple[int, ...] = (10, 12, 14)   # H.264 quality per clip; crf >= 18 wipes out most of the pulse
    pulse_rgb_jitter: float = 0.0         # RMS log-factor on the R and B pulse amplitudes vs green (0 = PBV_RGB)
    seed: int = 0


@dataclass
class RealDataConfig:
    """Real recordings mixed into training (kdphys.data.windows): a dataset read from ``root``.

    dataset: "ubfc", "pure", "mmpd", "folder", or "" for none. train_subjects: subjects trained on (None: all
    but ``val_subjects``). val_subjects: held out, used for validation (empty: validate on the synthetic set).
    bitrates: re-encoded H.264 copies (bit/s) trained on besides the original videos. share: share of
    training clips drawn from real recordings (the rest synthetic).
    """

    dataset: str = ""
    root: str = ""
    train_subjects: tuple[str, ...] | None = None
    val_subjects: tuple[str, ...] = ()
    bitrates: tuple[float, ...] = ()
    share: float = 0.5


@dataclass
class AugmentSettings:
    """Training-clip augmentation (drawn per clip by kdphys.data.windows); enabled: off = plain clips.
    p_stretch: share of clips time-stretched toward stretch_hr_bpm, by a factor within stretch_range."""

    enabled: bool = True
    p_stretch: float = 0.8
    stretch_hr_bpm: tuple[float, float] = (40.0, 180.0)
    stretch_range: tuple[float, float] = (0.45, 2.0)
    shift_px: float = 2.0
    scale: float = 0.08
    gain_range: tuple[float, float] = (0.7, 1.3)
    channel_gain: float = 0.08
    contrast: float = 0.15


@dataclass
class DataConfig:
    """Where training clips come from.

    dataset: "synthetic" (generated into ``root``), "none", or "folder", "ubfc", "pure", "mmpd" (read from
    ``root`` and split by subject, kdphys.data.splits.subject_split, with ``split_fractions`` and ``split_seed``;
    the same split is used by ``kdphys evaluate --protocol intra``). ``real`` mixes a real dataset in.
    Every recording goes through kdphys.pipeline.extract (the app's engine: tracker, skin crops, resampling) once and
    is cached in ``cache_dir``; clips of ``chunk_len`` frames are cut from whole recordings
    (kdphys.data.windows), ``clips_per_epoch`` per epoch, augmented as ``augment`` says.
    """

    dataset: str = "synthetic"
    root: str = "runs/synthetic"
    cache_dir: str = ".cache/extract"
    crop_size: int = 72
    skin_region: str = "face"             # kdphys.face.SKIN_REGIONS: what the crops show
    chunk_len: int = 128                  # frames per training clip T
    clips_per_epoch: int = 256
    fps: float = 30.0
    band_hz: tuple[float, float] = (0.75, 2.5)   # HR band for validation MAE (rPPG-Toolbox)
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)  # train, val, test subjects
    split_seed: int = 0
    num_workers: int = 0
    reencode_dir: str = ".cache/reencoded"
    synthetic: SyntheticSetConfig = field(default_factory=SyntheticSetConfig)
    real: RealDataConfig = field(default_factory=RealDataConfig)
    augment: AugmentSettings = field(default_factory=AugmentSettings)


@dataclass
class ModelConfig:
    """The two models' own settings (kdphys.models: TeacherConfig, StudentConfig), e.g. ``model.student.widths``."""

    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: StudentConfig = field(default_factory=StudentConfig)


@dataclass
class LossConfig:
    """loss = dilate_weight*DILATE + pearson_weight*negPearson + attention_weight*AT + output_kd_weight*KD."""

    dilate_weight: float = 1.0
    dilate_alpha: float = 0.5             # shape (soft-DTW) vs temporal (TDI) balance, Le Guen & Thome
    dilate_gamma: float = 0.01            # soft-min temperature
    dilate_downsample: int = 1            # average-pool BVP in time before DILATE (speed: O(T^2) cost)
    pearson_weight: float = 1.0
    max_lag_frames: int = 0               # reference shifted to its best lag within +-this (losses.align_to_best_lag)
    attention_weight: float = 1.0         # distill mode only
    output_kd_weight: float = 0.0         # distill mode only: match the teacher's BVP


@dataclass
class OptimConfig:
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float = 5.0                # max grad norm, 0 = off
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: Literal["constant", "cosine"] = "constant"   # cosine: lr * (min + (1-min)(1+cos(pi e/E))/2)
    min_lr_fraction: float = 0.05         # cosine: the last epoch's lr as a fraction of lr
    weight_ema: float = 0.0               # > 0: validate and save a moving average of the weights (decay per step)


@dataclass
class TrainConfig:
    mode: Mode = "student"
    out_dir: str = "runs/student"         # checkpoints (last.pt, best.pt), log.csv
    teacher_checkpoint: str | None = None  # distill mode: a checkpoint written by mode=teacher
    init_checkpoint: str | None = None     # start from this checkpoint's weights (same kind and architecture)
    epochs: int = 30
    batch_size: int = 8
    max_steps_per_epoch: int = 0          # 0 = a full pass over the training chunks
    seed: int = 0
    patience: int = 10                    # early stopping: epochs without a better validation MAE
    device: str = "auto"                  # "auto" (cuda if available), "cpu", "cuda", "cuda:1"
    num_threads: int = 0                  # torch.set_num_threads on CPU; 0 = leave torch's default
    resume: bool = True                   # continue from out_dir/last.pt when it exists
    select: Literal["best", "last"] = "best"   # best.pt: lowest validation MAE, or the last epoch's model
    progress: bool = True                 # tqdm bar on rank 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Convert a YAML value to the field's type hint (dataclass, tuple, float from int, Literal check)."""
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"'{key}' must be a mapping of {sorted(f.name for f in dataclasses.fields(hint))}.")
        return _from_dict(hint, value, prefix=key + ".")
    if value is None:
        return None
    if origin in (Union, types.UnionType):         # X | None: coerce to X
        args = [a for a in get_args(hint) if a is not type(None)]
        return _coerce(value, args[0], key) if len(args) == 1 else value
    if origin is Literal:
        if value not in get_args(hint):
            raise ConfigError(f"'{key}' is {value!r}; use one of {list(get_args(hint))}.")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{key}' must be a list, e.g. [0.7, 3.5]; got {value!r}.")
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], key) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"'{key}' needs {len(args)} values; got {list(value)}.")
        return tuple(_coerce(v, a, key) for v, a in zip(value, args))
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, bool):
        raise ConfigError(f"'{key}' must be an integer; got {value!r}.")
    if hint in (int, str, bool) and not isinstance(value, hint):
        raise ConfigError(f"'{key}' must be {hint.__name__}; got {value!r}.")
    return value


def _from_dict(cls: type, values: dict, prefix: str = "") -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"Unknown config key(s) {[prefix + k for k in unknown]}; known keys here: {sorted(names)}."
        )
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in values.items()}
    return cls(**kwargs)


def config_from_dict(values: dict) -> TrainConfig:
    """Build a TrainConfig from a (possibly partial) nested dict; missing keys keep their defaults."""
    return _from_dict(TrainConfig, values or {})


def config_to_dict(cfg: TrainConfig) -> dict:
    """Nested plain dict (tuples as lists) that ``config_from_dict`` and YAML accept."""

    def plain(x):
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x

    return plain(dataclasses.asdict(cfg))


def apply_overrides(values: dict, overrides: list[str]) -> dict:
    """Set ``dotted.key=value`` strings into a nested dict (values parsed as YAML). Returns ``values``."""
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"Override {item!r} must look like key=value, e.g. epochs=5 or loss.dilate_alpha=0.3.")
        key, raw = item.split("=", 1)
        node = values
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Override {item!r}: '{part}' is not a section.")
        node[parts[-1]] = yaml.safe_load(raw)
    return values


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config (or the defaults when ``path`` is None) and apply ``overrides``."""
    values: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"Config file {path} not found. See configs/ for examples (tiny.yaml, distill.yaml).")
        values = yaml.safe_load(path.read_text()) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"{path} must be a YAML mapping of config keys.")
    return config_from_dict(apply_overrides(values, overrides or []))


def save_config(cfg: TrainConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
