"""Offline stand-in for the live page: how often the live HR window gives a reading, and how right it is.

    .venv/bin/python benchmarks/live_vp8.py                      # bitrates 0 (no VP8), 1 and 2.5 Mbit/s
    .venv/bin/python benchmarks/live_vp8.py --bitrates 1e6 --method student --repeats 3
    .venv/bin/python benchmarks/live_vp8.py --bitrates 0 3e5 5e5 7e5 1e6 1.5e6 --offsets 0 5 10 15 --windows 20 \
        --alt-gate weak_pulse_max_peak_disagreement_bpm=8      # the same frames through two gates

The real clip is looped three times (as Chromium's fake webcam loops its y4m file), encoded with VP8
(libvpx, realtime, the codec WebRTC uses between Chromium and aiortc) at a fixed bitrate, decoded and
pushed frame by frame into the live engine. Once a second from 5 s on, the HR is read over the last
``--windows`` seconds and compared with the oximeter's HR over the same stretch of the looped clip.
``--offsets`` starts the loop later in the clip (the seam and the codec's state then fall elsewhere);
``--alt-gate`` reads the same decoded frames also through a changed quality gate (a paired comparison,
which the codec's run-to-run variation would otherwise blur).
libvpx in realtime mode is not deterministic (its speed adapts to the wall clock), so figures vary
from run to run: use --repeats.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from anywhere without installing

from kdphys import paths, signal as sig  # noqa: E402
from kdphys.engine import Engine  # noqa: E402
from kdphys.live import LiveSettings  # noqa: E402
from kdphys.quality import QualitySettings  # noqa: E402
from kdphys.reference import sample_clip_reference  # noqa: E402
from kdphys.video import read_video  # noqa: E402

FPS = 30.0
LOOPS = 3


def vp8_roundtrip(frames: list[np.ndarray], bitrate: float, fps: float = FPS,
                  noise_sensitivity: int = 0) -> list[np.ndarray]:
    """Encode (n, H, W, 3) uint8 RGB frames at ``fps`` with VP8 at ``bitrate`` bit/s and decode them again.
    ``noise_sensitivity``: libvpx's temporal denoiser (0 off, 1 luma only, 4 adaptive: what Chrome's WebRTC
    VP8 encoder uses for camera video on desktop)."""
    import av

    buf = io.BytesIO()
    out = av.open(buf, "w", format="webm")
    stream = out.add_stream("libvpx", rate=int(fps))
    stream.height, stream.width = frames[0].shape[:2]
    stream.pix_fmt, stream.bit_rate = "yuv420p", int(bitrate)
    stream.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                      "noise-sensitivity": str(int(noise_sensitivity))}
    for frame in frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    buf.seek(0)
    with av.open(buf) as inp:
        return [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]


def looped_reference(n_frames: int, clip_frames: int, offset_frames: int = 0) -> np.ndarray:
    """(n_frames,) oximeter waveform on the 30 Hz grid of the clip looped from frame ``offset_frames`` on."""
    ref = sample_clip_reference()
    one = np.roll(np.interp(np.arange(clip_frames) / FPS, ref.t_s, ref.values), -offset_frames)
    return np.tile(one, -(-n_frames // clip_frames))[:n_frames]


def run(frames: list[np.ndarray], method: str, windows: list[float], clip_frames: int, step: int = 1,
        offset_frames: int = 0, gates: dict[str, QualitySettings] | None = None) -> dict[tuple[str, float], list]:
    """Push frames into a live engine (every ``step``-th frame of the 30 fps clip looped from frame
    ``offset_frames``: ``frames`` holds only those). Per (gate name, window): a list of (t_s, hr_bpm or
    None, reference hr_bpm), each gate reading the same engine state (default: {"default": QualitySettings()})."""
    gates = gates or {"default": QualitySettings()}
    settings = LiveSettings().engine
    settings.method, settings.window_s = method, max(windows)
    engine = Engine(settings)
    ref_wave = looped_reference(len(frames) * step, clip_frames, offset_frames)
    out = {(g, w): [] for g in gates for w in windows}
    pushed = iter(frames)
    for i in range(len(frames) * step):
        if i % step == 0:
            engine.push(next(pushed), i / FPS)
        if (i + 1) % int(FPS) == 0 and i + 1 >= 5 * FPS:
            for w in windows:
                n = min(int(w * FPS), i + 1)
                ref_hr = sig.spectral_hr_bpm(ref_wave[i + 1 - n:i + 1], FPS, settings.band_hz)
                for name, gate in gates.items():
                    engine.settings.quality = gate
                    out[name, w].append(((i + 1) / FPS, engine.reading(w).hr_bpm, ref_hr))
    return out


def parse_gate(assignments: list[str]) -> QualitySettings:
    """QualitySettings with fields replaced from ["name=value", ...] (values are floats)."""
    fields = {f.name for f in dataclasses.fields(QualitySettings)}
    changes = {}
    for item in assignments:
        name, _, value = item.partition("=")
        if name not in fields or not value:
            raise SystemExit(f"--alt-gate takes QualitySettings fields as name=value; got {item!r}")
        changes[name] = float(value)
    return dataclasses.replace(QualitySettings(), **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bitrates", type=float, nargs="+", default=[0, 1e6, 2.5e6], help="bit/s; 0 = no VP8")
    parser.add_argument("--windows", type=float, nargs="+", default=[10.0, 20.0], help="HR windows, s")
    parser.add_argument("--method", default="pos")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--camera-fps", type=float, nargs="+", default=[30.0],
                        help="frame rates sent (the 30 fps clip thinned to 15, 10 ...)")
    parser.add_argument("--offsets", type=float, nargs="+", default=[0.0],
                        help="where in the clip the loop starts, s")
    parser.add_argument("--noise-sensitivity", type=int, default=0,
                        help="libvpx temporal denoiser: 0 off, 1 luma, 4 adaptive (Chrome's choice for cameras)")
    parser.add_argument("--alt-gate", nargs="+", default=[], metavar="NAME=VALUE",
                        help="also read the same frames with these QualitySettings fields changed")
    args = parser.parse_args()
    gates = {"default": QualitySettings()}
    if args.alt_gate:
        gates[" ".join(args.alt_gate)] = parse_gate(args.alt_gate)
    clip, _, _ = read_video(paths.SAMPLE_VIDEO)
    clip = list(clip)
    print(f"sample clip x{LOOPS}, method {args.method}, live window default {LiveSettings().engine.window_s:.0f} s, "
          f"VP8 noise sensitivity {args.noise_sensitivity}")
    print("| gate | loop start | bitrate | camera fps | window | seconds with a reading | first reading | "
          "median / max error vs oximeter (bpm) | readings off > 3 / > 5 bpm |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals = {key: np.zeros(3, dtype=int) for key in itertools.product(gates, args.windows)}
    for offset_s, bitrate, camera_fps in itertools.product(args.offsets, args.bitrates, args.camera_fps):
        step = int(round(FPS / camera_fps))
        offset = int(round(offset_s * FPS)) % len(clip)
        sent = ((clip[offset:] + clip[:offset]) * LOOPS)[::step]
        for _ in range(args.repeats if bitrate > 0 else 1):
            frames = sent if bitrate <= 0 else vp8_roundtrip(sent, bitrate, FPS / step, args.noise_sensitivity)
            for (gate, w), rows in run(frames, args.method, args.windows, len(clip), step, offset, gates).items():
                errs = np.array([abs(hr - ref) for _, hr, ref in rows if hr is not None])
                totals[gate, w] += (errs.size, int(np.sum(errs > 3.0)), int(np.sum(errs > 5.0)))
                first = next((f"{t:.0f} s" for t, hr, _ in rows if hr is not None), "never")
                err = f"{np.median(errs):.1f} / {errs.max():.1f}" if errs.size else "-"
                label = "none" if bitrate <= 0 else f"{bitrate / 1e6:g} Mbit/s"
                print(f"| {gate} | {offset_s:g} s | {label} | {FPS / step:g} | {w:.0f} s | {errs.size}/{len(rows)} "
                      f"({100 * errs.size / len(rows):.0f} %) | {first} | {err} | "
                      f"{np.sum(errs > 3.0)} / {np.sum(errs > 5.0)} |", flush=True)
    for (gate, w), (n, over3, over5) in totals.items():
        print(f"{gate}, {w:.0f} s windows, all runs: {n} readings, {over3} off by > 3 bpm, {over5} by > 5 bpm")


if __name__ == "__main__":
    main()
