"""Synthetic rPPG videos: a real face with a known blood-volume pulse, plus controllable nuisances.

    clip = generate_clip(SyntheticConfig(hr_bpm=75, duration_s=10, motion_px=4, seed=1))
    clip.frames          # (N, H, W, 3) uint8 RGB
    clip.bvp, clip.hr_bpm, clip.skin_rgb   # ground truth: pulse (N,), mean HR (bpm), skin trace (N, 3)
    write_clip(clip, "out", name="clip_000", crf=23)     # out/clip_000.mp4 + .csv + .json
    for rgb, t_s, bvp in iter_frames(cfg): ...           # streaming, for long clips

The scene (per frame, in this order):

1. face: ``skimage.data.astronaut()`` cut out of its backdrop (``synthetic_subject``); recoloured for
   ``skin_tone``, mirrored for ``flip``, scaled so the face is ``FACE_HEIGHT_FRACTION * face_scale`` of the
   frame height, centred at ``face_center``;
2. pulse: every facial-skin pixel (face oval, skin-coloured, no eyes / brows / lips / hair) is multiplied
   by 1 - a_c * bvp(t) * w(x, y): a_c follows the blood-volume signature ``PBV_RGB`` (green strongest)
   with a green peak-to-peak of ``GREEN_PULSE_FRACTION * pulse_amplitude`` of the skin intensity; w is a
   smooth random perfusion map (mean 1, spread 30 %) on the skin mask. Skin darkens when blood volume rises
   (contact-PPG polarity: ``bvp`` up = more blood). Nothing else carries the pulse;
3. head motion: in-plane rotation, scale and translation about the face centre (``motion_kind``:
   smooth random, periodic at ``motion_hz``, or both), one affine warp per frame;
4. background: static (``background``); the face layer is alpha-blended over it;
5. light: a static left-to-right gradient (``light_gradient``, so that moving faces change brightness)
   times a global multiplicative factor: slow drift (``illumination_drift``) and flicker
   (``flicker_hz``, ``flicker_amplitude``; sampled at frame times, so mains flicker aliases as in a camera);
6. sensor noise: additive Gaussian, ``noise_std`` grey levels; then rounding to uint8.

Compression is applied by ``write_clip`` (H.264 ``crf``). Every random choice comes from ``seed``.
Speed: about 15 ms per 640x480 frame with a face (the float32 warp + blend of the face layer), about
3 ms without, on the 2-core dev machine; the first clip of a process adds ~1-3 s (landmarker + GrabCut).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from kdphys.data.synthetic.pulse import PulseModel, SmoothNoise
from kdphys.data.synthetic.subject import SubjectBase, subject_base

#: Relative pulse amplitude per channel R, G, B: the blood-volume-pulse signature (de Haan and van Leest
#: 2014) of ~[0.33, 0.77, 0.53], normalised to green.
PBV_RGB = np.array([0.33, 0.77, 0.53]) / 0.77
#: Peak-to-peak green modulation of skin at pulse_amplitude = 1, as a fraction of the skin intensity.
GREEN_PULSE_FRACTION = 0.006
#: Face (landmark box) height as a fraction of the frame height at face_scale = 1.
FACE_HEIGHT_FRACTION = 0.45
#: Mean skin colours that skin_tone = -1 and +1 move towards (R, G, B, 0..255).
DARK_SKIN_RGB = np.array([95.0, 62.0, 45.0])
LIGHT_SKIN_RGB = np.array([238.0, 204.0, 182.0])
#: Frequency bands of the smooth random processes, Hz.
MOTION_BAND_HZ = (0.05, 0.5)
DRIFT_BAND_HZ = (0.005, 0.05)
#: Spatial scale of the perfusion map (Gaussian blur sigma, fraction of the face height) and its spread.
PERFUSION_SIGMA_FRACTION = 0.12
PERFUSION_SPREAD = 0.3
#: Margin of the sensor-noise tile, pixels: each frame reads the tile at a random offset below this.
NOISE_TILE_MARGIN = 64

MOTION_KINDS = ("smooth", "periodic", "both")
BACKGROUNDS = ("gradient", "solid", "texture")


@dataclass
class SyntheticConfig:
    """Everything that defines a synthetic clip. Same config (seed included) -> same frames.

    Attributes:
        hr_bpm: mean heart rate, beats per minute.
        duration_s: clip length, seconds.
        fps: frame rate, frames per second.
        size: (H, W) frame size, pixels (even numbers for H.264).
        hrv_bpm: heart-rate variability, bpm: respiratory sinus arrhythmia (~0.25 Hz, peak hrv_bpm) plus
            slow randomness; the instantaneous rate has a standard deviation of about hrv_bpm.
        pulse_amplitude: pulse strength; 1.0 = green peak-to-peak of 0.6 % of the skin intensity
            (red 0.26 %, blue 0.41 %). 0 = a still photo.
        motion_px: RMS head translation per axis, pixels (at this frame size).
        rotation_deg: RMS in-plane head rotation, degrees.
        illumination_drift: RMS of the slow multiplicative illumination change (0.05 = 5 %).
        flicker_hz: light flicker frequency, Hz (sampled at the frame times: 100 Hz at 30 fps aliases).
        flicker_amplitude: flicker depth as a fraction of the light, 0 <= a < 1 (0.02 = 2 %).
        noise_std: sensor noise standard deviation, grey levels (0..255).
        skin_tone: -1 (dark) .. 0 (the portrait's own, light) .. +1 (lighter): recolours face and ears.
        face_scale: face size relative to the default (face height 0.45 of the frame height).
        seed: seed of every random choice.
        include_face: False = background only (for "no face" tests); bvp is then all zeros, hr_bpm NaN.
        motion_kind: "smooth" (random sway 0.05-0.5 Hz), "periodic" (sinusoid at motion_hz) or "both".
        motion_hz: frequency of periodic motion, Hz.
        scale_jitter: RMS relative change of face size (leaning towards / away from the camera).
        face_center: (x, y) of the face centre as fractions of the frame width and height.
        flip: mirror the face horizontally.
        background: "gradient" (random smooth colours), "solid" (background_rgb) or "texture" (tinted bricks).
        background_rgb: colour of the solid background, R, G, B 0..255.
        light_gradient: the light falls by this fraction from the left to the right edge of the frame.
        pulse_rgb: relative pulse amplitude of R, G, B (green = 1 sets the scale), or None for ``PBV_RGB``.
            Cameras and skins differ in this signature; training sets jitter it (SyntheticSetConfig).
    """

    hr_bpm: float = 72.0
    duration_s: float = 20.0
    fps: float = 30.0
    size: tuple[int, int] = (480, 640)
    hrv_bpm: float = 2.0
    pulse_amplitude: float = 1.0
    motion_px: float = 0.0
    rotation_deg: float = 0.0
    illumination_drift: float = 0.0
    flicker_hz: float = 0.0
    flicker_amplitude: float = 0.0
    noise_std: float = 2.0
    skin_tone: float = 0.0
    face_scale: float = 1.0
    seed: int = 0
    include_face: bool = True
    motion_kind: str = "smooth"
    motion_hz: float = 0.3
    scale_jitter: float = 0.0
    face_center: tuple[float, float] = (0.5, 0.45)
    flip: bool = False
    background: str = "gradient"
    background_rgb: tuple[int, int, int] = (110, 110, 115)
    light_gradient: float = 0.1
    pulse_rgb: tuple[float, float, float] | None = None

    @property
    def n_frames(self) -> int:
        """Number of frames: round(duration_s * fps)."""
        return int(round(self.duration_s * self.fps))

    def validate(self) -> None:
        """Raise ValueError with a fix for the first setting that cannot be rendered."""
        checks = [
            (self.hr_bpm > 0, f"hr_bpm must be positive, got {self.hr_bpm}"),
            (self.fps > 0 and self.duration_s > 0, f"fps and duration_s must be positive, got {self.fps}, {self.duration_s}"),
            (self.n_frames >= 1, f"duration_s * fps gives no frame ({self.duration_s} s at {self.fps} fps)"),
            (len(self.size) == 2 and min(self.size) >= 16, f"size must be (H, W) with both >= 16, got {self.size}"),
            (self.pulse_amplitude >= 0, f"pulse_amplitude must be >= 0, got {self.pulse_amplitude}"),
            (0 <= self.flicker_amplitude < 1, f"flicker_amplitude is a fraction of the light in [0, 1), got "
                                              f"{self.flicker_amplitude} (use 0.02 for 2 %)"),
            (0 <= self.illumination_drift <= 0.5, f"illumination_drift is a fraction in [0, 0.5], got {self.illumination_drift}"),
            (self.noise_std >= 0, f"noise_std must be >= 0 grey levels, got {self.noise_std}"),
            (-1 <= self.skin_tone <= 1, f"skin_tone must be in [-1, 1], got {self.skin_tone}"),
            (0.1 <= self.face_scale <= 4, f"face_scale must be in [0.1, 4], got {self.face_scale}"),
            (0 <= self.scale_jitter < 0.5, f"scale_jitter must be in [0, 0.5), got {self.scale_jitter}"),
            (0 <= self.light_gradient < 1, f"light_gradient must be in [0, 1), got {self.light_gradient}"),
            (self.motion_kind in MOTION_KINDS, f"motion_kind must be one of {MOTION_KINDS}, got {self.motion_kind!r}"),
            (self.pulse_rgb is None or (len(self.pulse_rgb) == 3 and min(self.pulse_rgb) >= 0),
             f"pulse_rgb must be three amplitudes >= 0 (R, G, B), got {self.pulse_rgb}"),
            (self.background in BACKGROUNDS, f"background must be one of {BACKGROUNDS}, got {self.background!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message + ".")


@dataclass(frozen=True)
class SyntheticFrame:
    """One rendered frame with its ground truth.

    Attributes:
        rgb: (H, W, 3) uint8 RGB.
        t_s: time, seconds (index / fps).
        bvp: the pulse at t_s (arbitrary units, peak-to-peak about 1; 0 without a face).
        index: frame number.
        skin_mask: (H, W) bool, pixels that carry the full pulse (None without a face).
        subject_alpha: (H, W) float32 0..1, coverage by the person (None without a face); where it is 0
            the pixel is background.
        landmarks_px: (478, 2) float32 FaceMesh landmarks, frame pixels (None without a face).
        skin_rgb: (3,) float64 mean R, G, B of ``rgb`` over ``skin_mask`` (NaN without a face).
    """

    rgb: np.ndarray
    t_s: float
    bvp: float
    index: int
    skin_mask: np.ndarray | None
    subject_alpha: np.ndarray | None
    landmarks_px: np.ndarray | None
    skin_rgb: np.ndarray


@dataclass
class SyntheticClip:
    """A whole clip in memory.

    Attributes:
        frames: (N, H, W, 3) uint8 RGB.
        t_s: (N,) frame times, seconds.
        bvp: (N,) ground-truth pulse, contact-PPG polarity (zeros without a face).
        hr_bpm: mean of the instantaneous heart rate over the clip, bpm (NaN without a face).
        config: the SyntheticConfig.
        skin_rgb: (N, 3) mean R, G, B over the ground-truth skin mask of each frame (NaN without a face).
        landmarks_px: (N, 478, 2) float32 ground-truth landmarks (NaN without a face).
        hr_inst_bpm: (N,) instantaneous heart rate, bpm (NaN without a face).
    """

    frames: np.ndarray
    t_s: np.ndarray
    bvp: np.ndarray
    hr_bpm: float
    config: SyntheticConfig
    skin_rgb: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    landmarks_px: np.ndarray = field(default_factory=lambda: np.zeros((0, 478, 2), np.float32))
    hr_inst_bpm: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _unit_motion(rng: np.random.Generator, cfg: SyntheticConfig, t_s: np.ndarray) -> np.ndarray:
    """(N,) unit-RMS motion signal of the configured kind."""
    smooth = SmoothNoise(rng, MOTION_BAND_HZ)(t_s)
    periodic = np.sqrt(2.0) * np.sin(2 * np.pi * cfg.motion_hz * t_s + rng.uniform(0, 2 * np.pi))
    if cfg.motion_kind == "smooth":
        return smooth
    if cfg.motion_kind == "periodic":
        return periodic
    return (smooth + periodic) / np.sqrt(2.0)


def _background(rng: np.random.Generator, cfg: SyntheticConfig) -> np.ndarray:
    """(H, W, 3) float32 static background, 0..255."""
    height, width = cfg.size
    if cfg.background == "solid":
        return np.broadcast_to(np.float32(cfg.background_rgb), (height, width, 3)).copy()
    if cfg.background == "texture":
        import skimage.data

        bricks = cv2.resize(skimage.data.brick(), (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
        tint = rng.uniform(0.6, 1.0, size=3).astype(np.float32)
        return (40.0 + 0.6 * bricks[..., None] * tint).astype(np.float32)
    grey = rng.uniform(70, 180, size=(2, 2, 1))
    corners = (grey + rng.uniform(-25, 25, size=(2, 2, 3))).astype(np.float32)   # muted colours
    bg = cv2.resize(corners, (width, height), interpolation=cv2.INTER_LINEAR)
    blotches = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 0.04 * width)
    blotches *= 6.0 / max(float(blotches.std()), 1e-6)
    return np.clip(bg + blotches[..., None], 0, 255).astype(np.float32)


@dataclass
class _Layer:
    """The face layer of one clip, scaled to the frame: premultiplied RGBA and the pulse region."""

    rgba: np.ndarray           # (h, w, 4) float32, RGB premultiplied by alpha; the pulse is written into it
    skin_rgb_base: np.ndarray  # (sh, sw, 3) float32, premultiplied RGB of the skin box before the pulse
    pulse_weight: np.ndarray   # (sh, sw, 1) float32, w(x, y) in the skin box
    skin_box: tuple[slice, slice]
    truth: np.ndarray          # (h, w) uint8, 1 where the full pulse is applied
    landmarks_px: np.ndarray   # (478, 2) float32, layer pixels
    centre_px: np.ndarray      # (2,) face centre, layer pixels


def _tone_gains(base: SubjectBase, skin_tone: float) -> np.ndarray:
    """(3,) per-channel gains moving the mean skin colour towards DARK/LIGHT_SKIN_RGB."""
    target = DARK_SKIN_RGB if skin_tone < 0 else LIGHT_SKIN_RGB
    return (target / base.skin_rgb) ** abs(skin_tone)


def _build_layer(base: SubjectBase, cfg: SyntheticConfig, rng: np.random.Generator) -> _Layer:
    """Recolour, mirror and scale the portrait; draw the perfusion map."""
    rgb = base.rgb.astype(np.float32)
    gains = _tone_gains(base, cfg.skin_tone).astype(np.float32)
    rgb *= 1.0 + base.tone_skin[..., None] * (gains - 1.0)
    alpha, skin = base.alpha, base.face_skin.astype(np.float32)
    landmarks = base.landmarks_px.copy()
    if cfg.flip:
        rgb, alpha, skin = rgb[:, ::-1], alpha[:, ::-1], skin[:, ::-1]
        landmarks[:, 0] = rgb.shape[1] - 1 - landmarks[:, 0]
        landmarks = landmarks[base.mirror_index]          # keep FaceMesh semantics (index = subject's side)
    face_h = float(np.ptp(landmarks[:, 1]))
    scale = cfg.face_scale * FACE_HEIGHT_FRACTION * cfg.size[0] / face_h
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    rgb = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=interp)
    alpha = cv2.resize(np.ascontiguousarray(alpha), size, interpolation=interp)
    skin = cv2.resize(np.ascontiguousarray(skin), size, interpolation=cv2.INTER_LINEAR) > 0.5
    landmarks = landmarks * np.float32(size[0] / base.rgb.shape[1])
    # Pulse weight: the perfusion map on the skin mask. Its edge is hard at the layer's resolution (a 0.6 %
    # step is invisible) and softened by the warp's interpolation.
    perf_sigma = PERFUSION_SIGMA_FRACTION * face_h * scale
    perfusion = cv2.GaussianBlur(rng.standard_normal(skin.shape).astype(np.float32), (0, 0), perf_sigma)
    perfusion = 1.0 + PERFUSION_SPREAD * perfusion / max(float(perfusion[skin].std()), 1e-6)
    perfusion = np.clip(perfusion / max(float(perfusion[skin].mean()), 1e-6), 0.2, None)
    weight = skin * perfusion
    truth = cv2.erode(skin.astype(np.uint8), np.ones((3, 3), np.uint8))      # fully pulsing after the warp
    ys, xs = np.nonzero(skin)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    rgba = np.dstack([rgb * alpha[..., None], alpha]).astype(np.float32)
    x0, y0 = landmarks.min(axis=0)
    x1, y1 = landmarks.max(axis=0)
    return _Layer(rgba=rgba, skin_rgb_base=rgba[box][..., :3].copy(), pulse_weight=weight[box][..., None],
                  skin_box=box, truth=truth, landmarks_px=landmarks,
                  centre_px=np.array([(x0 + x1) / 2, (y0 + y1) / 2]))


class _Renderer:
    """Draws every random quantity of a clip from its seed, then renders frames on demand."""

    def __init__(self, cfg: SyntheticConfig):
        cfg.validate()
        self.cfg = cfg
        height, width = cfg.size
        n = cfg.n_frames
        self.t_s = np.arange(n) / cfg.fps
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(6)]
        rng_pulse, rng_motion, rng_light, rng_bg, rng_layer, self._rng_noise = rngs

        max_beats = int(np.ceil(cfg.duration_s * (cfg.hr_bpm + 3 * cfg.hrv_bpm + 5) / 60.0)) + 2
        pulse = PulseModel(cfg.hr_bpm, cfg.hrv_bpm, rng_pulse, max_beats)(self.t_s)
        self.bvp = pulse.bvp if cfg.include_face else np.zeros(n)
        self.hr_inst_bpm = pulse.hr_bpm if cfg.include_face else np.full(n, np.nan)

        self.dx_px = cfg.motion_px * _unit_motion(rng_motion, cfg, self.t_s)
        self.dy_px = cfg.motion_px * _unit_motion(rng_motion, cfg, self.t_s)
        self.rot_rad = np.deg2rad(cfg.rotation_deg) * _unit_motion(rng_motion, cfg, self.t_s)
        self.scale = 1.0 + cfg.scale_jitter * _unit_motion(rng_motion, cfg, self.t_s)

        drift = 1.0 + cfg.illumination_drift * SmoothNoise(rng_light, DRIFT_BAND_HZ)(self.t_s)
        flicker = 1.0 + cfg.flicker_amplitude * np.sin(2 * np.pi * cfg.flicker_hz * self.t_s
                                                       + rng_light.uniform(0, 2 * np.pi))
        self.light = np.maximum(drift, 0.05) * flicker

        ramp = 1.0 + cfg.light_gradient * (0.5 - np.arange(width, dtype=np.float32) / max(width - 1, 1))
        self.light_map = np.ascontiguousarray(np.broadcast_to(ramp[None, :, None], (height, width, 3)))
        self.background = _background(rng_bg, cfg)
        self.noise_tile = (cfg.noise_std * self._rng_noise.standard_normal(
            (height + NOISE_TILE_MARGIN, width + NOISE_TILE_MARGIN, 3), dtype=np.float32))
        self.layer = _build_layer(subject_base(), cfg, rng_layer) if cfg.include_face else None
        signature = PBV_RGB if cfg.pulse_rgb is None else np.asarray(cfg.pulse_rgb, dtype=np.float64)
        self.pulse_coef = (cfg.pulse_amplitude * GREEN_PULSE_FRACTION * signature).astype(np.float32)
        self.centre_frame = np.array([cfg.face_center[0] * width, cfg.face_center[1] * height])

    def __len__(self) -> int:
        return len(self.t_s)

    def _affine(self, k: int) -> np.ndarray:
        """(2, 3) map from layer pixels to frame pixels at frame k."""
        c, s = np.cos(self.rot_rad[k]) * self.scale[k], np.sin(self.rot_rad[k]) * self.scale[k]
        a = np.array([[c, -s], [s, c]])
        shift = self.centre_frame + (self.dx_px[k], self.dy_px[k]) - a @ self.layer.centre_px
        return np.hstack([a, shift[:, None]])

    def _face(self, k: int, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Blend the pulsing face into ``frame`` (H, W, 3) float32 in place.

        Returns the skin mask (H, W) uint8 0/1, the person coverage (H, W) float32 and the landmarks (478, 2).
        """
        layer, (height, width) = self.layer, self.cfg.size
        factor = 1.0 - self.pulse_coef * np.float32(self.bvp[k]) * layer.pulse_weight
        np.multiply(layer.skin_rgb_base, factor, out=layer.rgba[layer.skin_box][..., :3])
        m = self._affine(k)
        lh, lw = layer.rgba.shape[:2]
        corners = m[:, :2] @ np.array([[0, lw, 0, lw], [0, 0, lh, lh]], float) + m[:, 2:]
        x0, y0 = np.clip(np.floor(corners.min(axis=1)).astype(int) - 1, 0, (width, height))
        x1, y1 = np.clip(np.ceil(corners.max(axis=1)).astype(int) + 2, 0, (width, height))
        skin = np.zeros((height, width), np.uint8)
        alpha = np.zeros((height, width), np.float32)
        if x1 > x0 and y1 > y0:
            m_roi = m - np.array([[0, 0, x0], [0, 0, y0]])
            roi_size = (int(x1 - x0), int(y1 - y0))
            warped = cv2.warpAffine(layer.rgba, m_roi, roi_size, flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            sub_r, sub_g, sub_b, a = cv2.split(warped)
            roi = frame[y0:y1, x0:x1]
            roi *= cv2.merge([1.0 - a] * 3)
            roi += cv2.merge([sub_r, sub_g, sub_b])
            alpha[y0:y1, x0:x1] = a
            skin[y0:y1, x0:x1] = cv2.warpAffine(layer.truth, m_roi, roi_size, flags=cv2.INTER_NEAREST)
        landmarks = (layer.landmarks_px @ m[:, :2].T + m[:, 2]).astype(np.float32)
        return skin, alpha, landmarks

    def render(self, k: int) -> SyntheticFrame:
        """Frame k with its ground truth."""
        height, width = self.cfg.size
        frame = self.background.copy()
        skin = alpha = landmarks = None
        if self.layer is not None:
            skin, alpha, landmarks = self._face(k, frame)
        frame = cv2.multiply(frame, self.light_map, scale=float(self.light[k]))
        if self.cfg.noise_std > 0:
            rng = np.random.default_rng((self.cfg.seed, k))
            oy, ox = rng.integers(0, NOISE_TILE_MARGIN, size=2)
            sign = 1.0 if rng.random() < 0.5 else -1.0
            frame = cv2.scaleAdd(self.noise_tile[oy:oy + height, ox:ox + width], sign, frame)
        np.maximum(frame, 0.0, out=frame)
        rgb = cv2.convertScaleAbs(frame)         # rounds and saturates to 0..255
        skin_rgb = np.full(3, np.nan)
        if skin is not None and skin.any():
            skin_rgb = np.array(cv2.mean(rgb, mask=skin)[:3])
        return SyntheticFrame(rgb=rgb, t_s=float(self.t_s[k]), bvp=float(self.bvp[k]), index=k,
                              skin_mask=skin.view(bool) if skin is not None else None,
                              subject_alpha=alpha, landmarks_px=landmarks, skin_rgb=skin_rgb)


def iter_synthetic_frames(cfg: SyntheticConfig) -> Iterator[SyntheticFrame]:
    """Render a clip frame by frame with ground truth (masks, landmarks, skin trace). Bounded memory."""
    renderer = _Renderer(cfg)
    for k in range(len(renderer)):
        yield renderer.render(k)


def iter_frames(cfg: SyntheticConfig) -> Iterator[tuple[np.ndarray, float, float]]:
    """Streaming frames for long clips: yields (rgb (H, W, 3) uint8, t_s, bvp value) per frame."""
    for f in iter_synthetic_frames(cfg):
        yield f.rgb, f.t_s, f.bvp


def generate_clip(cfg: SyntheticConfig) -> SyntheticClip:
    """Render a whole clip into memory (N * H * W * 3 bytes: use iter_frames for long clips)."""
    renderer = _Renderer(cfg)
    n = len(renderer)
    height, width = cfg.size
    frames = np.empty((n, height, width, 3), np.uint8)
    skin_rgb = np.full((n, 3), np.nan)
    landmarks = np.full((n, 478, 2), np.nan, np.float32)
    for k in range(n):
        f = renderer.render(k)
        frames[k] = f.rgb
        skin_rgb[k] = f.skin_rgb
        if f.landmarks_px is not None:
            landmarks[k] = f.landmarks_px
    hr_bpm = float(np.mean(renderer.hr_inst_bpm)) if cfg.include_face else float("nan")
    return SyntheticClip(frames=frames, t_s=renderer.t_s.copy(), bvp=renderer.bvp.copy(), hr_bpm=hr_bpm,
                         config=cfg, skin_rgb=skin_rgb, landmarks_px=landmarks,
                         hr_inst_bpm=renderer.hr_inst_bpm.copy())


def _config_dict(cfg: SyntheticConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def write_clip(clip: SyntheticClip | SyntheticConfig, out_dir: str | Path, name: str = "clip",
               codec: str = "h264", crf: float | None = 18) -> Path:
    """Write a clip in the folder format that ``kdphys.data.folder.VideoFolder`` reads.

    Files: ``{name}.mp4`` (the frames, ``codec`` at quality ``crf``: compression is the last nuisance),
    ``{name}.csv`` (header "time_s,bvp", one row per frame) and ``{name}.json``
    ({"hr_bpm": mean HR or null without a face, "config": the SyntheticConfig, "fps", "n_frames",
    "generator"}).

    Args:
        clip: a SyntheticClip, or a SyntheticConfig to render and encode frame by frame (long clips).
        out_dir: folder, created if needed.
        name: file stem.
        codec, crf: passed to ``kdphys.io.video.write_video`` (h264 crf 18 is visually lossless).

    Returns:
        The path of the video file.
    """
    from kdphys.io.write import write_video

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path = out_dir / f"{name}.mp4"
    if isinstance(clip, SyntheticConfig):
        cfg = clip
        renderer = _Renderer(cfg)
        write_video(video_path, (renderer.render(k).rgb for k in range(len(renderer))), fps=cfg.fps,
                    codec=codec, crf=crf)
        t_s, bvp = renderer.t_s, renderer.bvp
        hr_bpm = float(np.mean(renderer.hr_inst_bpm)) if cfg.include_face else float("nan")
    else:
        cfg, t_s, bvp, hr_bpm = clip.config, clip.t_s, clip.bvp, clip.hr_bpm
        write_video(video_path, iter(clip.frames), fps=cfg.fps, codec=codec, crf=crf)
    with open(out_dir / f"{name}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time_s", "bvp"])
        writer.writerows([f"{t:.6f}", f"{b:.6f}"] for t, b in zip(t_s, bvp))
    meta = {"hr_bpm": None if not np.isfinite(hr_bpm) else round(hr_bpm, 4), "config": _config_dict(cfg),
            "fps": cfg.fps, "n_frames": int(len(t_s)), "codec": codec, "crf": crf,
            "generator": "kdphys.data.synthetic"}
    (out_dir / f"{name}.json").write_text(json.dumps(meta, indent=1))
    return video_path
