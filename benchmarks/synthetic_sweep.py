"""Synthetic face videos at 40-180 bpm, still and moving, compressed, through the app's upload path.

    .venv/bin/python benchmarks/synthetic_sweep.py                      # 15 rates x 2 kinds, 20 s each (~8 min)
    .venv/bin/python benchmarks/synthetic_sweep.py --rates 40 110 180 --method student
    .venv/bin/python benchmarks/synthetic_sweep.py --method student --weights weights/student-nokd.pt
    .venv/bin/python benchmarks/synthetic_sweep.py --method student --no-fallback   # the student alone

Each clip (kdphys.data.synthetic, seed = rate; green pulse 0.6 % peak-to-peak) is rendered, encoded with H.264
at ``--crf`` (default 18; at 23 and above the generator's pulse mostly does not survive: POS read 1 of 6
clips at crf 23, none at 28) and read as the app reads an upload (``kdphys.pipeline.upload.analyze_video``
with the app's fallback: for the student, PBV, POS or green where it gives no reading; "signal read" says
which). "moving": 4 px RMS sway, 2 degrees RMS
rotation, 3 % illumination drift. The truth is the clip's mean heart rate (2 bpm variability). Prints one
row per clip (reading, error, share of the video read, beats marked against beats in the read span) and
the totals: clips with a reading, and readings more than 5 bpm off.
"""

from __future__ import annotations

import argparse
import json
import tempfile


from kdphys.methods import get_method  # noqa: E402
from kdphys.methods.registry import upload_fallback  # noqa: E402
from kdphys.pipeline.engine import Engine, EngineSettings  # noqa: E402
from kdphys.pipeline.upload import analyze_video, upload_landmarkers  # noqa: E402
from kdphys.data.synthetic import SyntheticConfig, write_clip  # noqa: E402

KINDS = {"still": {}, "moving": {"motion_px": 4.0, "rotation_deg": 2.0, "illumination_drift": 0.03}}


def sweep_config(hr_bpm: float, kind: str, duration_s: float) -> SyntheticConfig:
    """The clip of one rate and kind (seed = the rate, so every run renders the same clips)."""
    return SyntheticConfig(hr_bpm=float(hr_bpm), duration_s=duration_s, seed=int(hr_bpm), **KINDS[kind])


def engine_for(settings: EngineSettings, weights: str | None) -> Engine | None:
    """An upload engine running ``settings.method`` with ``weights`` (None: analyze_video builds its own)."""
    if not weights:
        return None
    return Engine(settings, method=get_method(settings.method, weights=weights), keep_all=True,
                  landmarkers=upload_landmarkers())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="*", default=list(range(40, 181, 10)))
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--crf", type=float, default=18.0)
    parser.add_argument("--method", default="pos")
    parser.add_argument("--weights", help="a neural method's checkpoint instead of the shipped one")
    parser.add_argument("--no-fallback", action="store_true",
                        help="the method alone, without the app's upload fallback (methods.registry.UPLOAD_FALLBACK)")
    args = parser.parse_args()
    fallback = None if args.no_fallback else upload_fallback(args.method)
    settings = EngineSettings(method=args.method, fallback=fallback)
    print(f"method {args.method}" + (f" ({args.weights})" if args.weights else "")
          + (f", {fallback} where it gives no reading" if fallback else "")
          + f", H.264 crf {args.crf:g}, {args.seconds:g} s clips")
    print("| rate (bpm) | kind | reading | error (bpm) | read | beats marked / expected in the read span "
          "| signal read |")
    print("|---|---|---|---|---|---|---|")
    read = wrong = total = 0
    with tempfile.TemporaryDirectory(prefix="kdphys-sweep-") as tmp:
        for hr in args.rates:
            for kind in args.kinds:
                cfg = sweep_config(hr, kind, args.seconds)
                video = write_clip(cfg, tmp, name=f"{kind}_{hr:g}", crf=args.crf)
                true_hr = json.loads(video.with_suffix(".json").read_text())["hr_bpm"]
                snap = analyze_video(video, settings=settings, engine=engine_for(settings, args.weights)).snapshot
                r = snap.reading
                total += 1
                if r.hr_bpm is None:
                    print(f"| {hr:g} | {kind} | {r.reason} | | | | |", flush=True)
                    continue
                read += 1
                err = r.hr_bpm - true_hr
                wrong += abs(err) > 5.0
                span_s = snap.readings.read_mask().sum() / snap.fps
                marked = 0 if snap.beats is None else len(snap.beats.peaks)
                print(f"| {hr:g} | {kind} | {r.hr_bpm:.1f} ({r.quality}) | {err:+.1f} | {100 * r.coverage:.0f}% | "
                      f"{marked} / {true_hr * span_s / 60:.1f} | {snap.signal_source} |", flush=True)
    print(f"\nclips with a reading: {read} of {total} ({100 * read / max(total, 1):.0f}%); more than 5 bpm off: {wrong}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
