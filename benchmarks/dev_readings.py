"""What the app reads on the real dev clips: headline, error against the oximeter over the same span, share
read, beats marked against the oximeter's, and the ungated whole-clip errors.

    .venv/bin/python benchmarks/dev_readings.py                    # POS, every dev clip found (~1 min, cached)
    .venv/bin/python benchmarks/dev_readings.py --method student
    .venv/bin/python benchmarks/dev_readings.py --method teacher --weights runs/release/teacher/best.pt --clips sample

Per clip (the app's upload path, kdphys.data.dev_clips.clip_signals, cached in .cache/):
- reading: the headline (median of the accepted windows) and the oximeter over the same windows (median of
  its beats' rate in them); the beats marked in the read span and the oximeter's beats in it;
- ungated, whole clip: the median of every window's tracked heart rate against the median of the
  oximeter's, and the rPPG-Toolbox periodogram (0.75-2.5 Hz, video and oximeter alike).
"""

from __future__ import annotations

import argparse

import numpy as np


from kdphys import signal as sig  # noqa: E402
from kdphys.data.dev_clips import clip_signals, dev_clips, score_clip  # noqa: E402
from kdphys.methods import get_method  # noqa: E402
from kdphys.pipeline.engine import beats_where_read  # noqa: E402
from kdphys.data.reference import beats_from_contact_ppg  # noqa: E402

TOOLBOX_BAND_HZ = (0.75, 2.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="pos")
    parser.add_argument("--weights", help="a neural method's checkpoint instead of the shipped one")
    parser.add_argument("--clips", nargs="+", help="only these clips (e.g. subject15 sample)")
    args = parser.parse_args()
    method = get_method(args.method, **({"weights": args.weights} if args.weights else {}))
    print(f"method {args.method}" + (f" ({args.weights})" if args.weights else ""))
    print("| clip | reading | oximeter, same span | error | read | beats marked / oximeter | ungated: tracked "
          "median error | ungated: periodogram error |")
    print("|---|---|---|---|---|---|---|---|")
    read_errors, tracked_errors, toolbox_errors = [], [], []
    clips = [c for c in dev_clips() if not args.clips or c.name in args.clips]
    for clip in clips:
        s = clip_signals(clip, method)
        score = score_clip(clip, s)
        r, tracked_err = score.readings, score.ungated_error
        wave = clip.reference.on_grid(s.t_s)
        finite = np.isfinite(wave)
        toolbox_err = (sig.spectral_hr_bpm(s.raw_bvp[finite], s.fps, TOOLBOX_BAND_HZ)
                       - sig.spectral_hr_bpm(np.interp(s.t_s, clip.reference.t_s, clip.reference.values)[finite],
                                             s.fps, TOOLBOX_BAND_HZ))
        tracked_errors.append(tracked_err)
        toolbox_errors.append(toolbox_err)
        if r.summary.hr_bpm is None:
            print(f"| {clip.name} | {r.summary.reason} | | | {100 * r.accepted.mean():.0f}% | | {tracked_err:+.1f} | "
                  f"{toolbox_err:+.1f} |")
            continue
        ref_hr, err = score.reference_read_bpm, score.headline_error
        read_errors.append(err)
        span = r.read_mask()
        beats = beats_where_read(r)
        marked = 0 if beats is None else len(beats.peaks)
        oximeter = int(span[beats_from_contact_ppg(wave, s.fps)].sum())
        print(f"| {clip.name} | {r.summary.describe()} | {ref_hr:.1f} | {err:+.1f} | {100 * r.summary.coverage:.0f}% | "
              f"{marked} / {oximeter} | {tracked_err:+.1f} | {toolbox_err:+.1f} |")
    subjects = len(tracked_errors) - any(c.name == "sample" for c in clips)
    print(f"\nclips with a reading: {len(read_errors)} of {len(tracked_errors)}; readings more than 5 bpm off: "
          f"{sum(abs(e) > 5 for e in read_errors)}")
    if subjects > 0:
        print(f"ungated MAE over the {subjects} dev subjects: tracked median {np.mean(np.abs(tracked_errors[:subjects])):.2f} "
              f"bpm, periodogram {np.mean(np.abs(toolbox_errors[:subjects])):.2f} bpm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
