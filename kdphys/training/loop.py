"""Train the teacher, the student alone (ablation baseline), or distil the frozen teacher into the student.

    from kdphys.training.config import load_config
    from kdphys.training.loop import train
    result = train(load_config("configs/distill.yaml"))     # mode: teacher | student | distill
    result.best_val_mae_bpm, result.checkpoint

One process, or several with ``torchrun --nproc_per_node=N -m kdphys distill ...`` (DistributedDataParallel:
gloo on CPU, nccl on GPU; rank 0 builds the data cache, validates, logs and writes checkpoints).

loss = dilate_weight * DILATE(pred, bvp) + pearson_weight * (1 - r)
       + [distill] attention_weight * sum over LAYER_PAIRS of ||A_teacher - A_student||
       + [distill] output_kd_weight * output_kd(pred, teacher_pred)

Each epoch writes a row to ``out_dir/log.csv`` (epoch 0 = the untrained model's validation), ``last.pt``
(resumable: model, optimiser, epoch, best validation MAE, config) and ``best.pt`` when the validation
heart-rate MAE improved; training stops after ``patience`` epochs without improvement.
"""

from __future__ import annotations

import csv
import math
import os
import random
import time
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from kdphys import signal as sig
from kdphys.training.config import DataConfig, LossConfig, OptimConfig, TrainConfig, config_from_dict, config_to_dict
from kdphys.errors import KDPhysError
from kdphys.models.checkpoints import build_model
from kdphys.training.data import load_window_sets

LOG_COLUMNS = ("epoch", "train_loss", "train_dilate", "train_pearson", "train_attention", "train_output_kd",
               "val_loss", "val_mae_bpm", "val_rmse_bpm", "lr", "epoch_s")


@dataclass
class ValResult:
    loss: float            # dilate + pearson (weighted as in training), mean over clips
    mae_bpm: float         # heart-rate MAE over validation videos, bpm
    rmse_bpm: float
    n_clips: int           # validation videos
    videos: list = field(default_factory=list)   # per video: (record id, reference HR, predicted HR), bpm


@dataclass
class TrainResult:
    checkpoint: Path                     # best.pt (lowest validation MAE)
    last_checkpoint: Path
    initial_val: ValResult | None        # the untrained model (None when resumed)
    best_val_mae_bpm: float
    epochs_run: int
    stopped_early: bool
    history: list[dict] = field(default_factory=list)   # the log.csv rows written by this call (rank 0)
    model: torch.nn.Module | None = None                 # the trained model (unwrapped), last epoch


# ------------------------------------------------------------------------------------------------ setup
def setup_process(device: str) -> tuple[int, int, torch.device]:
    """(rank, world_size, device). Joins the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise KDPhysError("device is 'cuda' but no CUDA GPU is visible; set device: cpu (or auto) in the config.")
    if world > 1:
        if device.startswith("cuda"):
            device = f"cuda:{local_rank}"
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.startswith("cuda") else "gloo")
    return rank, world, torch.device(device)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """A training checkpoint's dict (model, optimiser, epoch, config; weights only)."""
    from kdphys.models.checkpoints import load_torch

    if not Path(path).is_file():
        raise KDPhysError(f"Checkpoint {path} not found. Train it first (python -m kdphys train-teacher ...) "
                          "or set teacher_checkpoint in the config.")
    return load_torch(path, map_location=map_location)


# ------------------------------------------------------------------------------------------------ loss
def loss_terms(out, bvp: torch.Tensor, cfg: LossConfig, teacher_out=None) -> dict[str, torch.Tensor]:
    """Weighted loss terms and their sum under "loss". out/teacher_out: ModelOutput; bvp: (B, T) z-scored."""
    from kdphys.training.losses import align_to_best_lag, attention_transfer, dilate, neg_pearson, output_kd

    zero = bvp.new_zeros(())
    terms = {"dilate": zero, "pearson": zero, "attention": zero, "output_kd": zero}
    pred, bvp = align_to_best_lag(out.bvp, bvp, cfg.max_lag_frames)
    if cfg.dilate_weight:
        terms["dilate"] = cfg.dilate_weight * dilate(pred, bvp, cfg.dilate_alpha, cfg.dilate_gamma,
                                                     downsample=cfg.dilate_downsample).total
    if cfg.pearson_weight:
        terms["pearson"] = cfg.pearson_weight * neg_pearson(pred, bvp)
    if teacher_out is not None and cfg.attention_weight:
        terms["attention"] = cfg.attention_weight * attention_transfer(teacher_out.features, out.features)
    if teacher_out is not None and cfg.output_kd_weight:
        terms["output_kd"] = cfg.output_kd_weight * output_kd(out.bvp, teacher_out.bvp)
    terms["loss"] = terms["dilate"] + terms["pearson"] + terms["attention"] + terms["output_kd"]
    return terms


# ------------------------------------------------------------------------------------------------ validation
@torch.no_grad()
def validate(model: torch.nn.Module, loader: DataLoader, data: DataConfig, loss_cfg: LossConfig,
             device: torch.device) -> ValResult:
    """Validation loss (mean over chunks) and HR MAE/RMSE over validation videos.

    The loader must not shuffle: its chunks are grouped by ``loader.dataset.record_ids``; each video's chunk
    predictions and references (z-scored per chunk) are joined in order, and HR is computed on the joined
    predicted vs reference BVP (kdphys.signal.preprocess + hr_from_spectrum).
    """
    was_training = model.training
    model.eval()
    loss_sum, preds, refs = 0.0, [], []
    for clips, bvp in loader:
        clips, bvp = clips.to(device), bvp.to(device)
        out = model(clips)
        loss_sum += loss_terms(out, bvp, loss_cfg)["loss"].item() * len(bvp)
        preds += [sig.znorm(p) for p in out.bvp.cpu().numpy()]
        refs += list(bvp.cpu().numpy())
    model.train(was_training)
    record_ids = getattr(loader.dataset, "record_ids", None) or list(range(len(preds)))
    videos = _video_heart_rates(preds, refs, record_ids, data)
    errors = np.asarray([pred - ref for _, ref, pred in videos])
    return ValResult(loss=loss_sum / max(len(preds), 1), mae_bpm=float(np.abs(errors).mean()),
                     rmse_bpm=float(np.sqrt((errors**2).mean())), n_clips=len(errors), videos=videos)


def _video_heart_rates(preds: list[np.ndarray], refs: list[np.ndarray], record_ids: list,
                      data: DataConfig) -> list[tuple[object, float, float]]:
    """Per validation video: (record id, reference HR, predicted HR) in bpm.

    ``preds`` / ``refs``: one (T,) BVP per chunk, in loader order; ``record_ids``: the video of each chunk.
    Each video's chunks are joined in order and read by the app's spectral estimator in ``data.band_hz``.
    """
    out = []
    for rec in dict.fromkeys(record_ids):
        idx = [i for i, r in enumerate(record_ids) if r == rec]
        pred, ref = np.concatenate([preds[i] for i in idx]), np.concatenate([refs[i] for i in idx])
        out.append((rec, sig.spectral_hr_bpm(ref, data.fps, data.band_hz),
                    sig.spectral_hr_bpm(pred, data.fps, data.band_hz)))
    return out


# ------------------------------------------------------------------------------------------------ logging
class RunLog:
    """log.csv (one row per epoch, appended on resume) and TensorBoard when it is installed."""

    def __init__(self, out_dir: Path):
        self.path = out_dir / "log.csv"
        new = not self.path.is_file()
        self.file = open(self.path, "a", newline="")
        self.writer = csv.DictWriter(self.file, fieldnames=LOG_COLUMNS)
        if new:
            self.writer.writeheader()
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(out_dir / "tb"))
        except ImportError:
            self.tb = None

    def write(self, row: dict) -> None:
        self.writer.writerow({k: row.get(k, "") for k in LOG_COLUMNS})
        self.file.flush()
        if self.tb is not None:
            for k, v in row.items():
                if k != "epoch" and isinstance(v, float) and math.isfinite(v):
                    self.tb.add_scalar(k, v, row["epoch"])

    def close(self) -> None:
        self.file.close()
        if self.tb is not None:
            self.tb.close()


def save_checkpoint(path: Path, model, optimizer, epoch: int, best_val_mae: float, bad_epochs: int,
                    cfg: TrainConfig, kind: str) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                "best_val_mae_bpm": best_val_mae, "bad_epochs": bad_epochs, "kind": kind,
                "model_kwargs": dataclasses.asdict(getattr(cfg.model, kind)), "config": config_to_dict(cfg)}, tmp)
    os.replace(tmp, path)                     # never a half-written checkpoint


def init_weights(model: torch.nn.Module, path: str | Path, kind: str) -> None:
    """Copy a checkpoint's weights (training checkpoint or shipped file) into ``model`` before training.

    A student saved without the temporal stage (``StudentConfig.temporal_channels`` 0) may start a student
    with one: the stage keeps its initialisation, whose zero output layer makes the new student compute
    exactly what the saved one did."""
    ckpt = load_checkpoint(path)
    if ckpt.get("kind", kind) != kind:
        raise KDPhysError(f"init_checkpoint {path} holds a {ckpt.get('kind')}, not a {kind}.")
    state = ckpt["model"] if "model" in ckpt else ckpt
    own_temporal = any(key.startswith("temporal") for key in state)
    try:
        missing, unexpected = model.load_state_dict(state, strict=own_temporal)
    except RuntimeError as err:
        raise KDPhysError(f"init_checkpoint {path} does not match the {kind}'s architecture ({err}).") from err
    if unexpected or any(not key.startswith("temporal") for key in missing):
        raise KDPhysError(f"init_checkpoint {path} does not match the {kind}'s architecture (missing: "
                          f"{', '.join(missing) or '-'}; unexpected: {', '.join(unexpected) or '-'}).")


def load_teacher(path: str | None, device: torch.device) -> torch.nn.Module:
    if not path:
        raise KDPhysError("mode 'distill' needs teacher_checkpoint: the best.pt of a teacher run "
                          "(python -m kdphys train-teacher --config configs/teacher.yaml).")
    from kdphys.models.checkpoints import load_model

    loaded = load_model(path, map_location=device)
    if loaded.kind != "teacher":
        raise KDPhysError(f"{path} holds a {loaded.kind}, not a teacher; point teacher_checkpoint at a teacher run.")
    teacher = loaded.model
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher.to(device).eval()


# ------------------------------------------------------------------------------------------------ train
def train(cfg: TrainConfig) -> TrainResult:
    """Run one training job as ``cfg`` says (see the module docstring). Returns on every rank."""
    rank, world, device = setup_process(cfg.device)
    if cfg.num_threads and device.type == "cpu":
        torch.set_num_threads(cfg.num_threads)
    seed_everything(cfg.seed)                        # same initial weights on every rank
    out_dir = Path(cfg.out_dir)
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)

    train_set, val_set = load_window_sets(cfg.data, cfg.seed, rank, world)   # prepared data only
    sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=cfg.seed) if world > 1 else None
    train_loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
                              num_workers=cfg.data.num_workers, drop_last=len(train_set) >= cfg.batch_size * world,
                              generator=torch.Generator().manual_seed(cfg.seed))
    val_loader = DataLoader(val_set, batch_size=cfg.batch_size, shuffle=False, num_workers=cfg.data.num_workers)

    kind = "teacher" if cfg.mode == "teacher" else "student"
    model = build_model(kind, getattr(cfg.model, kind)).to(device)
    if cfg.init_checkpoint:
        init_weights(model, cfg.init_checkpoint, kind)
    teacher = load_teacher(cfg.teacher_checkpoint, device) if cfg.mode == "distill" else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, betas=cfg.optim.betas,
                                  weight_decay=cfg.optim.weight_decay)
    keeper = EpochKeeper(cfg, kind, model, optimizer, val_loader, device, main=rank == 0, world=world)
    start_epoch = keeper.resume() if cfg.resume else 0
    net = DistributedDataParallel(model) if world > 1 else model
    if start_epoch == 0:
        keeper.end_of_epoch(0, {}, 0, 0.0)           # epoch 0 row: the untrained model

    stopped_early, epoch = False, start_epoch
    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        train_set.set_epoch(epoch)                  # new crops, stretches and lights every epoch
        for group in optimizer.param_groups:
            group["lr"] = epoch_lr(cfg.optim, epoch, cfg.epochs)
        t0 = time.perf_counter()
        sums, n_steps = train_one_epoch(net, teacher, train_loader, optimizer, keeper.averaged, cfg, epoch,
                                        device, progress=rank == 0 and cfg.progress)
        if world > 1:
            average_buffers(model, world)           # BatchNorm running stats: the same on every rank
        if keeper.end_of_epoch(epoch, sums, n_steps, time.perf_counter() - t0):
            stopped_early = True
            break
    keeper.close()
    if world > 1:
        dist.barrier()
    if cfg.select == "last" and rank == 0 and keeper.last_path.is_file():
        import shutil
        shutil.copyfile(keeper.last_path, keeper.best_path)   # "best" is the last epoch's model
    return TrainResult(checkpoint=keeper.best_path, last_checkpoint=keeper.last_path,
                       initial_val=keeper.initial_val, best_val_mae_bpm=keeper.best_mae,
                       epochs_run=epoch - start_epoch, stopped_early=stopped_early, history=keeper.history,
                       model=keeper.kept())


def train_one_epoch(net: torch.nn.Module, teacher: torch.nn.Module | None, loader: DataLoader, optimizer,
                    averaged, cfg: TrainConfig, epoch: int, device: torch.device,
                    progress: bool) -> tuple[dict[str, float], int]:
    """One pass over ``loader`` (at most ``cfg.max_steps_per_epoch`` steps). Returns (summed loss terms, steps).

    ``net``: the model (or its DDP wrapper); ``teacher``: the frozen teacher in distill mode, else None;
    ``averaged``: the weight average updated after every step, or None."""
    net.train()
    sums = {"loss": 0.0, "dilate": 0.0, "pearson": 0.0, "attention": 0.0, "output_kd": 0.0}
    n_steps = len(loader) if not cfg.max_steps_per_epoch else min(len(loader), cfg.max_steps_per_epoch)
    bar = tqdm(loader, total=n_steps, desc=f"{cfg.mode} epoch {epoch}/{cfg.epochs}", disable=not progress,
               leave=False)
    for step, (clips, bvp) in enumerate(bar):
        if step >= n_steps:
            break
        clips, bvp = clips.to(device, non_blocking=True), bvp.to(device, non_blocking=True)
        out = net(clips)
        teacher_out = None
        if teacher is not None:
            with torch.no_grad():
                teacher_out = teacher(clips)
        terms = loss_terms(out, bvp, cfg.loss, teacher_out)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        if cfg.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.optim.grad_clip)
        optimizer.step()
        if averaged is not None:
            averaged.update_parameters(getattr(net, "module", net))
        for k in sums:
            sums[k] += terms[k].item()
        bar.set_postfix(loss=f"{terms['loss'].item():.3f}")
    bar.close()
    return sums, n_steps


class EpochKeeper:
    """What happens between epochs: validation (rank 0), the log, checkpoints, early stopping, resuming.

    With ``cfg.optim.weight_ema`` it also holds the exponential moving average of the weights, which is
    what is validated and saved (``kept()``)."""

    def __init__(self, cfg: TrainConfig, kind: str, model: torch.nn.Module, optimizer, val_loader: DataLoader,
                 device: torch.device, main: bool, world: int):
        self.cfg, self.kind, self.model, self.optimizer = cfg, kind, model, optimizer
        self.val_loader, self.device, self.main, self.world = val_loader, device, main, world
        out_dir = Path(cfg.out_dir)
        self.last_path, self.best_path = out_dir / "last.pt", out_dir / "best.pt"
        self.best_mae, self.bad_epochs = math.inf, 0
        self.initial_val: ValResult | None = None
        self.history: list[dict] = []
        self.log = RunLog(out_dir) if main else None
        self.averaged = None
        if cfg.optim.weight_ema:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
            self.averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.optim.weight_ema),
                                          use_buffers=True)

    def kept(self) -> torch.nn.Module:
        """The model that is validated and saved: the weight average when there is one."""
        return self.averaged.module if self.averaged is not None else self.model

    def resume(self) -> int:
        """Load ``last.pt`` when it exists (model, optimiser, best MAE, patience). Returns the epoch reached."""
        if not self.last_path.is_file():
            return 0
        ckpt = load_checkpoint(self.last_path, map_location=self.device)
        self.model.load_state_dict(ckpt["model"])   # with weight_ema the saved weights are the average
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.best_mae, self.bad_epochs = ckpt["best_val_mae_bpm"], ckpt["bad_epochs"]
        seed_everything(self.cfg.seed + ckpt["epoch"])
        return ckpt["epoch"]

    def end_of_epoch(self, epoch: int, sums: dict, n_steps: int, epoch_s: float) -> bool:
        """Validate (rank 0), log, checkpoint. Returns whether to stop (the same on every rank)."""
        stop = torch.zeros(1, dtype=torch.float64)
        if self.main:
            val = validate(self.kept(), self.val_loader, self.cfg.data, self.cfg.loss, self.device)
            row = {"epoch": epoch, **{f"train_{k}": v / max(n_steps, 1) for k, v in sums.items()},
                   "val_loss": val.loss, "val_mae_bpm": val.mae_bpm, "val_rmse_bpm": val.rmse_bpm,
                   "lr": self.optimizer.param_groups[0]["lr"], "epoch_s": epoch_s}
            self.history.append(row)
            self.log.write(row)
            if epoch == 0:
                self.initial_val = val
            else:
                self._save(epoch, improved=val.mae_bpm < self.best_mae, mae=val.mae_bpm)
            stop[0] = float(epoch > 0 and self.bad_epochs >= self.cfg.patience)
        if self.world > 1:
            dist.broadcast(stop, src=0)
        return bool(stop[0])

    def _save(self, epoch: int, improved: bool, mae: float) -> None:
        if improved:
            self.best_mae, self.bad_epochs = mae, 0
            save_checkpoint(self.best_path, self.kept(), self.optimizer, epoch, self.best_mae, 0, self.cfg,
                            self.kind)
        else:
            self.bad_epochs += 1
        save_checkpoint(self.last_path, self.kept(), self.optimizer, epoch, self.best_mae, self.bad_epochs,
                        self.cfg, self.kind)

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def epoch_lr(optim: OptimConfig, epoch: int, epochs: int) -> float:
    """Learning rate of epoch 1..epochs: ``optim.lr`` throughout ("constant"), or a cosine from ``optim.lr``
    at epoch 1 down to ``optim.min_lr_fraction * optim.lr`` at the last epoch ("cosine"). A pure function of
    the epoch, so that a resumed run continues the same schedule."""
    if optim.schedule == "constant" or epochs <= 1:
        return optim.lr
    progress = (epoch - 1) / (epochs - 1)
    floor = optim.min_lr_fraction
    return optim.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def average_buffers(model: torch.nn.Module, world: int) -> None:
    """All-reduce the mean of floating-point buffers (BatchNorm running statistics) across ranks."""
    for buffer in model.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
            buffer.div_(world)


def cleanup_distributed() -> None:
    """Leave the process group (call once after ``train`` in a torchrun worker)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def config_of_checkpoint(path: str | Path) -> TrainConfig:
    """The TrainConfig a checkpoint was trained with."""
    return config_from_dict(load_checkpoint(path)["config"])
