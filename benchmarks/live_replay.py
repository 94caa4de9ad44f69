"""Offline stand-in for the live page: a clip replayed frame by frame through a LiveSession on a simulated
clock, the status read once a second as the page does.

    .venv/bin/python benchmarks/live_replay.py                         # the sample clip looped 3 times
    .venv/bin/python benchmarks/live_replay.py --clips subject5 subject16 --method student
    .venv/bin/python benchmarks/live_replay.py --codec h264 --bitrate 1e6   # through a video-call codec first
    .venv/bin/python benchmarks/live_replay.py --start-s 0 4 8 12 16        # the camera starts mid-clip
    .venv/bin/python benchmarks/live_replay.py --clips subject3 subject5 --method student \
        --weights 'runs/cv/{clip}/distill/best.pt'          # each subject by the model that never saw it

Per clip it prints: seconds from the first frame to the first heart rate, the share of the 1 s samples
after it that show a heart rate, how many of those are more than 5 bpm from the oximeter (its beats in
the last 10 s, kdphys.data.reference.window_hr_from_beats), how many of them the method's live fallback
read (methods.registry.LIVE_FALLBACK; ``--no-fallback``: the method alone), and how often the "no reading"
cause changes.
The sample clip is looped (as Chromium's fake camera loops its file) from ``--start-s`` into it (one row
per start: where in the clip the stream begins changes how soon the first heart rate comes); dev subjects
play once. Frames are pushed at their own times; nothing runs in real time, so the figures do not depend on
this machine's speed.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np


from kdphys.data.dev_clips import dev_clips  # noqa: E402
from kdphys.pipeline.live import LiveSession, LiveSettings  # noqa: E402
from kdphys.data.reference import window_hr_from_beats  # noqa: E402
from kdphys.io.video import iter_frames, probe  # noqa: E402

FPS = 30.0
WRONG_BPM = 5.0


def looped_frames(video: Path, loops: int, start_frame: int = 0):
    """(rgb (H, W, 3) uint8, t_s) of the video from frame ``start_frame`` to its end, then played whole
    ``loops`` times, on a 30 fps clock starting at 0."""
    k = 0
    for loop in range(loops + (start_frame > 0)):
        for i, frame in enumerate(iter_frames(video)):
            if loop == 0 and i < start_frame:
                continue
            yield frame.rgb, k / FPS
            k += 1


def looped_reference(one: np.ndarray, loops: int, start_frame: int = 0) -> np.ndarray:
    """The reference on the grid of ``looped_frames``: ``one`` (n,) from ``start_frame``, then ``loops`` times."""
    return np.concatenate([one[start_frame:]] + [one] * loops)


def codec_roundtrip(frames, codec: str, bitrate: float, fps: float):
    """(rgb, t_s) frames encoded with "h264" (libx264, zerolatency) or "vp8" (libvpx realtime) at
    ``bitrate`` bit/s and decoded again, streamed."""
    import av

    buf = io.BytesIO()
    out = av.open(buf, "w", format="matroska")
    encoder = {"h264": "libx264", "vp8": "libvpx"}[codec]
    stream = out.add_stream(encoder, rate=int(round(fps)))
    stream.pix_fmt, stream.bit_rate = "yuv420p", int(bitrate)
    stream.options = ({"preset": "veryfast", "tune": "zerolatency"} if codec == "h264" else
                      {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"})
    for i, (rgb, _t) in enumerate(frames):
        if i == 0:
            stream.height, stream.width = rgb.shape[:2]
        for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    buf.seek(0)
    with av.open(buf) as inp:
        for k, f in enumerate(inp.decode(video=0)):
            yield f.to_ndarray(format="rgb24"), k / fps


def replay(frames, ref_wave_f: np.ndarray, method: str, settings: LiveSettings | None = None,
           weights: str | None = None) -> dict:
    """Push every frame at its time; read the status after each whole second. Returns figures.
    ``weights``: a checkpoint for the neural ``method`` instead of the shipped one."""
    from kdphys.methods import get_method
    from kdphys.pipeline.engine import Engine

    clock = {"now": 0.0}
    factory = (lambda s: Engine(s, method=get_method(method, weights=weights))) if weights else None
    session = LiveSession(method=method, settings=settings, clock=lambda: clock["now"], engine_factory=factory)
    samples = []                        # (t_s, hr_bpm or None, reference hr, cause, source)
    next_read = 1.0
    for rgb, t in frames:
        clock["now"] = float(t)
        session.process(rgb, float(t))
        if t + 1e-9 >= next_read:
            status = session.status()
            i = min(int(round(t * FPS)), len(ref_wave_f))
            ref = window_hr_from_beats(ref_wave_f, FPS, [slice(max(0, i - int(10 * FPS)), i)])[0]
            samples.append((float(t), status.reading.hr_bpm, ref, status.reading.cause, status.source))
            next_read += 1.0
    with_hr = [s for s in samples if s[1] is not None]
    first = with_hr[0][0] if with_hr else None
    after = [s for s in samples if first is not None and s[0] >= first]
    shown = [s for s in after if s[1] is not None]
    errors = np.array([abs(s[1] - s[2]) for s in shown if np.isfinite(s[2])])
    causes = [s[3] for s in after if s[1] is None]
    changes = sum(1 for a, b in zip(causes, causes[1:]) if a != b)
    return {"first_s": first, "share": len(shown) / len(after) if after else 0.0, "n": len(after),
            "by_fallback": sum(1 for s in shown if s[4] != method),
            "wrong": int(np.sum(errors > WRONG_BPM)), "max_err": float(errors.max()) if errors.size else np.nan,
            "cause_changes": changes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", default=["sample"], help="sample and/or dev subject names")
    parser.add_argument("--method", default="pos")
    parser.add_argument("--weights", help="a neural method's checkpoint instead of the shipped one; '{clip}' in it "
                                          "is replaced by the clip's name (leave-subject-out models)")
    parser.add_argument("--loops", type=int, default=3, help="times the sample clip is played")
    parser.add_argument("--start-s", type=float, nargs="+", default=[0.0],
                        help="where in the sample clip the stream starts, s (one row each; default 0)")
    parser.add_argument("--codec", choices=["none", "h264", "vp8"], default="none")
    parser.add_argument("--bitrate", type=float, default=1e6, help="codec bitrate, bit/s")
    parser.add_argument("--hold-s", type=float, default=LiveSettings.hold_s,
                        help=f"how long a reading is held over refused windows, s (default {LiveSettings.hold_s:g})")
    parser.add_argument("--no-fallback", action="store_true", help="the method alone, without its live fallback")
    args = parser.parse_args()
    settings = LiveSettings(hold_s=args.hold_s, use_fallback=not args.no_fallback)
    clips = {c.name: c for c in dev_clips()}
    codec = args.codec + (f" at {args.bitrate / 1e6:g} Mbit/s" if args.codec != "none" else "")
    print(f"method {args.method}" + (f" ({args.weights})" if args.weights else "") + f", codec {codec}, "
          f"hold {args.hold_s:g} s" + (", no fallback" if args.no_fallback else ""))
    print("| clip | starts at (s) | first heart rate after (s) | samples with a heart rate after it | > 5 bpm off | largest error "
          "(bpm) | of them read by the fallback | cause changes |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.clips:
        if name not in clips:
            print(f"| {name} | | not found | | | | | |")
            continue
        clip = clips[name]
        one = clip.reference.on_grid(np.arange(probe(clip.video).n_frames) / FPS)
        for start_s in (args.start_s if name == "sample" else [0.0]):
            start = int(round(start_s * FPS)) % len(one)
            loops = args.loops if name == "sample" else 1
            ref = looped_reference(one, loops, start)
            frames = looped_frames(clip.video, loops, start)
            if args.codec != "none":
                frames = codec_roundtrip(frames, args.codec, args.bitrate, FPS)
            weights = args.weights.replace("{clip}", name) if args.weights else None
            r = replay(frames, ref, args.method, settings, weights)
            first = "never" if r["first_s"] is None else f"{r['first_s']:.0f}"
            print(f"| {name} | {start / FPS:.0f} | {first} | {100 * r['share']:.0f}% of {r['n']} | {r['wrong']} | "
                  f"{r['max_err']:.1f} | {r['by_fallback']} | {r['cause_changes']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
