"""Tiny causal 2D CNN student (~39k parameters, ~1.6M multiply-accumulates per 36x36 frame) that runs
frame by frame.

Input clips (B, T, 3, H, W) float32 RGB in [0, 1] -> ModelOutput(bvp (B, T), features
{name: (B, T, C, H', W')}). Every frame goes through the same 2D network; time enters only in
causal ways, so output t depends on frames <= t and the model can stream (:meth:`Student.stream`):

- input features (6 channels per frame, brightness-invariant, computed causally):
  r_t = (x_t - m_t) / (m_t + eps), m_t = exponential moving average of the frames (time constant
  ``ema_tau_s``, m_{-1} = x_0): the streaming analogue of the teacher's clip-mean normalisation,
  i.e. the relative pulsatile change with skin tone and light level divided out;
  d_t = (x_t - x_{t-1}) / (x_t + x_{t-1} + eps), x_{-1} = x_0: the normalised frame difference
  (TS-CAN / EfficientPhys), local in time and robust to slow drift.
  Both are clamped to +-norm_clip and scaled by a BatchNorm (fixed statistics at inference).
- causal temporal shift (online TSM, Lin et al. 2019): before each 3x3 conv after the stem, the first
  C // shift_div input channels are replaced by the same channels of frame t-1 (zeros at t = 0).
  No channel ever comes from t+1.
- causal temporal stage: the per-frame pooled features go through dilated causal 1D convolutions over the
  last second of frames (a residual branch added to the per-frame head, zero at initialisation). Without it
  the student saw about 4 frames and, held out, tracked UBFC subject 15 at half its heart rate; with it,
  every held-out subject within 2.1 bpm (docs/DESIGN.md "Models").

Architecture at 36x36, the release crop (shift = causal temporal shift of C_in // 4 channels):

    name  op                                                  out per frame (C, H', W')
    in    [r_t, d_t] -> BN2d(6)                               (6, 36, 36)
    s0    conv3x3 6->8 + BN + ReLU                            (8, 36, 36)
          avgpool 2
    s1    shift, conv3x3 -> 16, BN, ReLU                      (16, 18, 18)
          avgpool 2
    s2    shift, conv3x3 -> 32, BN, ReLU                      (32, 9, 9)
          avgpool 2
    s3    shift, conv3x3 -> 64, BN, ReLU                      (64, 4, 4)
    head  global average pool, linear 64 -> 1                 bvp_t
    tcn   pooled: linear 64 -> 32; 4x [z + causal conv1d k3    + bvp_t
          dilation 1, 2, 4, 8 (relu z)]; linear 32 -> 1

``widths`` and ``blocks_per_stage`` scale it: the first release had (16, 32, 64, 64) with 2 blocks per stage
(144k parameters, 11.3M MACs per 36x36 frame), 1.8x faster than the teacher in ONNX Runtime instead of the
4x that issue 6 asks for; docs/DESIGN.md has the measurements behind the change.

Streaming state per sample: previous frame (3HW) + moving average (3HW) + one shifted slice per shift
layer (C_in/4 channels each) + the temporal stage's past inputs (32 channels x 2 x dilation per block);
7,776 + 648 + 324 + 128 + 960 = 9,836 floats (39 kB) at 36x36. BatchNorm uses batch
statistics in training mode, which mixes frames of a batch; exact causality and batch == stream hold in
eval mode.

Five-line use::

    student = Student().eval()
    bvp = student(clips).bvp                       # (B, T)
    stream = student.stream()
    for frame in frames: value = stream.step(frame)   # frame (B, 3, H, W) -> (B,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from kdphys.models import ModelOutput

State = tuple[torch.Tensor, ...]   # (prev_frame, ema, *shift_slices, *temporal_pasts)


@dataclass
class StudentConfig:
    """Student settings.

    widths: channels of the stem and of stages 1-3. blocks_per_stage: shift-conv blocks in stages 1-3.
    shift_div: 1 / fraction of input channels shifted from t-1 in each shift block.
    temporal_channels: width of the causal temporal stage over the pooled features (0: none, as in students
    saved before it existed); temporal_kernel, temporal_dilations: its dilated causal convolutions, one
    residual block each (receptive field 1 + (kernel - 1) * sum(dilations) frames: 31, about 1 s).
    fps: frame rate the clips are sampled at; ema_tau_s: time constant of the moving average used to
    normalise the input, seconds. norm_eps: added to denominators (RGB in [0, 1]); norm_clip: clamp of the
    normalised inputs.
    """

    widths: tuple[int, int, int, int] = (8, 16, 32, 64)
    blocks_per_stage: int = 1
    shift_div: int = 4
    temporal_channels: int = 32
    temporal_kernel: int = 3
    temporal_dilations: tuple[int, ...] = (1, 2, 4, 8)
    fps: float = 30.0
    ema_tau_s: float = 1.0
    norm_eps: float = 1.0 / 255.0
    norm_clip: float = 1.0

    @property
    def ema_weight(self) -> float:
        """Weight of the new frame in the moving average, a = 1 - exp(-1 / (tau * fps))."""
        return 1.0 - math.exp(-1.0 / (self.ema_tau_s * self.fps))


class _ShiftConv(nn.Module):
    """[causal temporal shift] -> conv3x3 -> BN -> ReLU, for clips (B, T, C, H, W) or single frames."""

    def __init__(self, c_in: int, c_out: int, shift_div: int | None):
        super().__init__()
        self.fold = c_in // shift_div if shift_div else 0
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def _conv(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))

    def forward_chunk(self, x: torch.Tensor, past: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Frames (B, T, C, H, W) and the shifted slice of the frame before them (B, fold, H, W) ->
        (output (B, T, C', H, W), the last frame's slice for the next chunk). Channel c < fold of frame t
        comes from frame t-1."""
        b, t = x.shape[:2]
        new_past = None
        if self.fold:
            new_past = x[:, -1, : self.fold]
            shifted = torch.cat([past[:, None], x[:, :, : self.fold]], dim=1)[:, :t]   # (not x[:, :-1]: any T exports)
            x = torch.cat([shifted, x[:, :, self.fold :]], dim=2)
        y = self._conv(x.reshape(b * t, *x.shape[2:]))
        return y.reshape(b, t, *y.shape[1:]), new_past


class _CausalTemporalBlock(nn.Module):
    """z + conv1d(relu(z)) over time, causal and dilated, for pooled features (B, T, C) or one frame (B, C).

    Frame t sees frames t - (kernel - 1) * dilation .. t; before the first frame the input is zero, in the
    batch path (left padding) and in the stream (the state starts at zeros)."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.past_len = (kernel - 1) * dilation

    def forward_chunk(self, z: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled features (B, T, C) and the past inputs (B, C, past_len) -> (output (B, T, C), the last
        past_len inputs for the next chunk)."""
        a = torch.cat([past, F.relu(z).transpose(1, 2)], dim=2)
        return z + self.conv(a).transpose(1, 2), a[:, :, a.shape[2] - self.past_len:]


class Student(nn.Module):
    """Causal 2D CNN. forward(clips (B, T, 3, H, W)) -> ModelOutput(bvp (B, T), features).

    features: "s0" .. "s3" -> (B, T, C, H', W') at the end of each stage. stream() -> StudentStream for
    frame-by-frame inference with outputs equal to forward's (eval mode). step()/initial_state() are the
    pure-function form; chunk() is what the ONNX export runs (see StudentChunkModule).
    """

    feature_layout = "BTCHW"
    display_layer = "s2"
    feature_names = ("s0", "s1", "s2", "s3")

    def __init__(self, config: StudentConfig | None = None):
        super().__init__()
        self.config = config or StudentConfig()
        c0, c1, c2, c3 = self.config.widths
        div = self.config.shift_div
        n = self.config.blocks_per_stage
        self.input_bn = nn.BatchNorm2d(6)
        self.stages = nn.ModuleList(
            [
                nn.ModuleList([_ShiftConv(6, c0, None)]),
                nn.ModuleList([_ShiftConv(c0 if i == 0 else c1, c1, div) for i in range(n)]),
                nn.ModuleList([_ShiftConv(c1 if i == 0 else c2, c2, div) for i in range(n)]),
                nn.ModuleList([_ShiftConv(c2 if i == 0 else c3, c3, div) for i in range(n)]),
            ]
        )
        self.head = nn.Linear(c3, 1)
        width = self.config.temporal_channels
        if width:   # bvp_t = head(pooled_t) + temporal_out(relu(TCN(temporal_in(pooled))_t))
            self.temporal_in = nn.Linear(c3, width)
            self.temporal = nn.ModuleList([_CausalTemporalBlock(width, self.config.temporal_kernel, d)
                                           for d in self.config.temporal_dilations])
            self.temporal_out = nn.Linear(width, 1)
            nn.init.zeros_(self.temporal_out.weight)   # starts as the student without it (fine-tuning from one)
            nn.init.zeros_(self.temporal_out.bias)

    # ----- input features -----
    def _frame_inputs(self, frame: torch.Tensor, prev: torch.Tensor, ema: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) frames, previous frames, moving averages including each frame -> (N, 6, H, W)."""
        eps, clip = self.config.norm_eps, self.config.norm_clip
        rel = ((frame - ema) / (ema + eps)).clamp(-clip, clip)
        diff = ((frame - prev) / (frame + prev + eps)).clamp(-clip, clip)
        return torch.cat([rel, diff], dim=1)

    def _emas_recurrent(self, clips: torch.Tensor, ema: torch.Tensor) -> torch.Tensor:
        """Moving averages (B, T, 3, H, W) after each frame of ``clips``, from ``ema`` (B, 3, H, W) before
        them, one frame at a time (training: the shipped weights were trained with these exact numbers)."""
        emas = []
        for t in range(clips.shape[1]):
            ema = ema + self.config.ema_weight * (clips[:, t] - ema)
            emas.append(ema)
        return torch.stack(emas, dim=1)

    def _emas_closed_form(self, clips: torch.Tensor, ema: torch.Tensor) -> torch.Tensor:
        """As ``_emas_recurrent`` without a loop over frames (any T in one exported graph):
        m_t = (1 - a)^(t+1) m_-1 + sum_{s <= t} a (1 - a)^(t-s) x_s, a (T, T) matrix product; equal up to
        float32 rounding. Costs T^2 multiply-adds per pixel: meant for chunks of up to a few hundred frames."""
        b, t = clips.shape[:2]
        a = self.config.ema_weight
        times = torch.arange(t, device=clips.device, dtype=clips.dtype)
        lag = times[:, None] - times[None, :]
        weights = torch.where(lag >= 0, a * (1.0 - a) ** lag.clamp(min=0), torch.zeros_like(lag))   # (T, T)
        carry = (1.0 - a) ** (times + 1.0)                                                           # (T,)
        flat = torch.matmul(weights, clips.reshape(b, t, -1)) + carry[None, :, None] * ema.reshape(b, 1, -1)
        return flat.reshape(clips.shape)

    # ----- one network for every path -----
    def _run(self, clips: torch.Tensor, state: State, emas: torch.Tensor) -> tuple[torch.Tensor, dict, State]:
        """Frames (B, T, 3, H, W), the state before them and their moving averages (B, T, 3, H, W) ->
        (bvp (B, T), features, the state after them)."""
        prev, _, *slices = state
        b, t = clips.shape[:2]
        prevs = torch.cat([prev[:, None], clips], dim=1)[:, :t]
        flat = lambda x: x.reshape(b * t, *x.shape[2:])   # noqa: E731
        x = self.input_bn(self._frame_inputs(flat(clips), flat(prevs), flat(emas)))
        x = x.reshape(b, t, *x.shape[1:])
        features: dict[str, torch.Tensor] = {}
        new_slices = []
        slice_iter = iter(slices)
        for index, (name, stage) in enumerate(zip(self.feature_names, self.stages)):
            if index > 0:
                x = F.avg_pool2d(flat(x), 2)
                x = x.reshape(b, t, *x.shape[1:])
            for block in stage:
                x, new_slice = block.forward_chunk(x, next(slice_iter) if block.fold else None)
                if new_slice is not None:
                    new_slices.append(new_slice)
            features[name] = x
        pooled = x.mean(dim=(3, 4))                          # (B, T, C)
        bvp = self.head(pooled)[..., 0]
        if self.config.temporal_channels:
            z = self.temporal_in(pooled)
            for block in self.temporal:
                z, past = block.forward_chunk(z, next(slice_iter))
                new_slices.append(past)
            bvp = bvp + self.temporal_out(F.relu(z))[..., 0]
        return bvp, features, (clips[:, -1], emas[:, -1], *new_slices)

    # ----- batch path (training) -----
    def forward(self, clips: torch.Tensor) -> ModelOutput:
        _check_clips(clips)
        state = self.initial_state(clips[:, 0])
        bvp, features, _ = self._run(clips, state, self._emas_recurrent(clips, state[1]))
        return ModelOutput(bvp=bvp, features=features)

    # ----- streaming path (exported graph, live) -----
    def initial_state(self, frame: torch.Tensor) -> State:
        """State before ``frame`` (B, 3, H, W), the first frame: previous frame = moving average = frame,
        shifted slices and the temporal stage's past inputs = zeros. Returns (prev_frame, ema, *shift_slices,
        *temporal_pasts)."""
        b, _, h, w = frame.shape
        slices = []
        for index, stage in enumerate(self.stages):
            if index > 0:
                h, w = h // 2, w // 2
            for block in stage:
                if block.fold:
                    slices.append(frame.new_zeros((b, block.fold, h, w)))
        if self.config.temporal_channels:
            slices += [frame.new_zeros((b, self.config.temporal_channels, block.past_len)) for block in self.temporal]
        return (frame.clone(), frame.clone(), *slices)

    def chunk(self, clips: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Frames (B, T, 3, H, W) that follow ``state`` -> (bvp (B, T), the state after them). Pure function of
        its inputs and free of loops over frames, so one exported graph takes any T: a whole segment in one
        call (the engine) or one frame (streaming). Equal to ``forward`` from ``initial_state`` up to float32
        rounding of the moving average."""
        bvp, _, new_state = self._run(clips, state, self._emas_closed_form(clips, state[1]))
        return bvp, new_state

    def step(self, frame: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One frame (B, 3, H, W) and the state -> (bvp (B,), new state): a chunk of one frame."""
        bvp, new_state = self.chunk(frame[:, None], state)
        return bvp[:, 0], new_state

    def stream(self) -> StudentStream:
        """A frame-by-frame runner whose outputs equal forward()'s for the same frames (eval mode)."""
        return StudentStream(self)


class StudentStream:
    """Stateful streaming wrapper: step(frame (B, 3, H, W) float32 RGB [0, 1]) -> bvp (B,).

    The first step initialises the state from its frame (as forward() does for frame 0).
    """

    def __init__(self, model: Student):
        self.model = model
        self.state: State | None = None

    def reset(self) -> None:
        """Forget the past (start of a new video or after a lost face)."""
        self.state = None

    @property
    def state_size_floats(self) -> int:
        """Floats of state per stream (per batch item); 0 before the first step."""
        if self.state is None:
            return 0
        return sum(s[0].numel() for s in self.state)

    def step(self, frame: torch.Tensor) -> torch.Tensor:
        if self.model.training:
            raise RuntimeError("StudentStream needs the model in eval mode: call student.eval() first.")
        if frame.ndim != 4 or frame.shape[1] != 3:
            raise ValueError(f"step expects one frame per stream, (B, 3, H, W) RGB in [0, 1], got {tuple(frame.shape)}.")
        with torch.no_grad():
            if self.state is None:
                self.state = self.model.initial_state(frame)
            bvp, self.state = self.model.step(frame, self.state)
        return bvp


class StudentChunkModule(nn.Module):
    """Tensor-in, tensor-out wrapper of Student.chunk for ONNX export (batch 1, any number of frames T).

    forward(frames (1, T, 3, S, S), prev_frame, ema, shift_0, ..., temporal_0, ...) -> (bvp (1, T),
    prev_frame, ema, shift_0, ...). input_names()/output_names() give the ONNX names. Host loop (e.g. ONNX
    Runtime): state = initial_state(first frame) (prev = ema = frame, the rest zeros, shapes from
    state_shapes()); then feed a chunk of frames + state, read bvp, feed the returned state back with the
    next chunk. A segment from a fresh state is one call.
    """

    def __init__(self, student: Student):
        super().__init__()
        self.student = student

    def forward(self, frames: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        bvp, new_state = self.student.chunk(frames, tuple(state))
        return (bvp, *new_state)

    def state_names(self, frame_hw: tuple[int, int] = (72, 72)) -> list[str]:
        n_pasts = len(self.student.temporal) if self.student.config.temporal_channels else 0
        n_slices = len(self.student.initial_state(torch.zeros(1, 3, *frame_hw))) - 2 - n_pasts
        return (["prev_frame", "ema"] + [f"shift_{i}" for i in range(n_slices)]
                + [f"temporal_{i}" for i in range(n_pasts)])

    def input_names(self, frame_hw: tuple[int, int] = (72, 72)) -> list[str]:
        return ["frames"] + self.state_names(frame_hw)

    def output_names(self, frame_hw: tuple[int, int] = (72, 72)) -> list[str]:
        return ["bvp"] + [f"{name}_out" for name in self.state_names(frame_hw)]

    def state_shapes(self, frame_hw: tuple[int, int] = (72, 72)) -> list[tuple[int, ...]]:
        """Per-sample state shapes (without the batch dimension), in input order."""
        return [tuple(s.shape[1:]) for s in self.student.initial_state(torch.zeros(1, 3, *frame_hw))]


def _check_clips(clips: torch.Tensor) -> None:
    if clips.ndim != 5 or clips.shape[2] != 3:
        raise ValueError(
            f"expected clips of shape (B, T, 3, H, W) (RGB in [0, 1]), got {tuple(clips.shape)}; "
            "add a batch dimension with clip[None] and put channels third."
        )
    if min(clips.shape[3:]) < 8:
        raise ValueError(f"clips need at least 8x8 pixels, got {clips.shape[3]}x{clips.shape[4]}.")
