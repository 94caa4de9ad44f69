"""Paper-style evaluation: HR MAE, RMSE, MAPE, Pearson r and SNR per dataset and method, with the app's own
readings (tracked, gated) and how much they cover beside them.

    report = evaluate({"ubfc": UBFCrPPG(root)}, ["pos", "chrom", "student=runs/distill/best.pt"],
                      out_dir="runs/eval", settings=EvalSettings(protocol="intra"))
    print(report.markdown)            # one row per (dataset, method); per_video.csv + Bland-Altman PNGs in out_dir

Each video is decoded once by ``kdphys.pipeline.extract`` (the app's engine: the same face tracker, skin mask, crops
and resampling as uploads, live and training), which keeps the RGB skin trace (classical methods) and the
face crops (neural methods); the reference BVP is interpolated at the grid times. Two estimates
per video (or per non-overlapping ``window_s`` window) and method:

* periodogram: the rPPG-Toolbox convention (``signal.preprocess`` + ``hr_from_spectrum`` in ``band_hz``,
  reference the same way): comparable with published tables; no gate.
* the app's: ``kdphys.signal.readings.read_signal`` (windows tracked together, each through the quality gate)
  against the oximeter's beats in the same windows (``reference.window_hr_from_beats``). "Ungated" takes
  the tracked heart rate of every window (whole video: their median); "gated" only what the app shows
  (whole video: its reading, against the reference over the windows it read), with the share read.

Protocols: "intra" evaluates the test subjects of a subject-wise split (kdphys.data.splits.subject_split, the
split that training used); "cross" evaluates every video of a dataset the model was not trained on.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from kdphys.evaluation import metrics
from kdphys import signal as sig
from kdphys.errors import KDPhysError
from kdphys.pipeline.extract import VideoSignals, cached_extract
from kdphys.methods.base import BVPMethod

Protocol = Literal["intra", "cross"]


@dataclass
class EvalSettings:
    """Settings of an evaluation run.

    Attributes:
        protocol: "intra" (test subjects of the subject-wise split) or "cross" (all videos).
        split_fractions, split_seed: the subject split of the intra protocol (as in the training config).
        fps: uniform grid rate, samples per second.
        band_hz: HR band, Hz (0.75-2.5 Hz = rPPG-Toolbox benchmark convention).
        window_s: None = one HR per video; else one HR per non-overlapping window of this length, s.
        crop_size: face-crop side, pixels; None = the size the evaluated neural methods were trained on
            (methods.base.crop_size_for), 72 when they have none or disagree.
        cache_dir: per-video extraction cache (.npz); None = no cache.
        skin_region: skin the trace and crops cover (kdphys.face.SKIN_REGIONS); None = what the evaluated
            neural methods were trained on (methods.base.skin_region_for).
    """

    protocol: Protocol = "cross"
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    split_seed: int = 0
    fps: float = 30.0
    band_hz: tuple[float, float] = (0.75, 2.5)
    window_s: float | None = None
    crop_size: int | None = None
    cache_dir: str | None = None

    skin_region: str | None = None

    def extract_settings(self):
        """What the shared extraction (kdphys.pipeline.extract) needs: grid rate, crop size (None -> 72), skin region
        (None -> the default), cache folder."""
        from kdphys.pipeline.extract import ExtractSettings
        return ExtractSettings(fps=self.fps, crop_size=self.crop_size or 72, skin_region=self.skin_region,
                               cache_dir=self.cache_dir)


@dataclass
class VideoResult:
    """One row of per_video.csv: one video (window -1) or one window of it, one method.

    hr_ref_bpm / hr_est_bpm: periodogram convention (reference waveform and BVP the same way), bpm.
    hr_ref_beats_bpm: the reference's beats over the same span, bpm. hr_tracked_bpm: the app's tracked
    heart rate, ungated (whole video: median of its windows), bpm. hr_read_bpm: the app's reading (NaN where
    it gave none), bpm; hr_ref_read_bpm: the reference over the windows it read, bpm. read_share: share
    of the app's windows read (whole video) or 1/0 (one window).
    """

    dataset: str
    method: str
    subject_id: str
    video: str
    window: int
    hr_ref_bpm: float
    hr_est_bpm: float
    abs_error_bpm: float
    snr_db: float
    face_fraction: float
    hr_ref_beats_bpm: float = float("nan")
    hr_tracked_bpm: float = float("nan")
    hr_read_bpm: float = float("nan")
    hr_ref_read_bpm: float = float("nan")
    read_share: float = 0.0


@dataclass
class MethodSummary:
    """One row of the table: periodogram metrics, then the app's (ungated, gated) with what it read."""

    dataset: str
    method: str
    n: int
    mae_bpm: float
    rmse_bpm: float
    mape_pct: float
    pearson_r: float
    snr_db: float
    ba_bias_bpm: float
    ba_loa_low_bpm: float
    ba_loa_high_bpm: float
    mae_tracked_bpm: float = float("nan")
    mae_read_bpm: float = float("nan")
    n_read: int = 0
    read_share: float = 0.0


@dataclass
class EvalReport:
    rows: list[VideoResult]
    summaries: list[MethodSummary]
    markdown: str
    csv_path: Path | None
    plots: list[Path]


# ------------------------------------------------------------------------------------------------ methods
def resolve_method(spec: str | BVPMethod) -> tuple[str, BVPMethod]:
    """"pos" -> get_method("pos"); "student=PATH" / "teacher=PATH" -> NeuralMethod from a .pt or .onnx file;
    "label=student=PATH" names the row "label". Returns (row label, method)."""
    if isinstance(spec, BVPMethod):
        return spec.name, spec
    parts = spec.split("=")
    if len(parts) == 1:
        from kdphys.methods import get_method
        return spec, get_method(spec)
    from kdphys.methods.neural import NeuralMethod
    label, kind, weights = (parts[0], parts[0], parts[1]) if len(parts) == 2 else (parts[0], parts[1], "=".join(parts[2:]))
    if kind not in ("student", "teacher"):
        raise KDPhysError(f"Method {spec!r}: only student=PATH or teacher=PATH take weights; classical methods "
                          "are given by name (pos, chrom, green).")
    return label, NeuralMethod.from_file(weights, kind=kind)


def method_bvp(method: BVPMethod, signals: VideoSignals, fps: float) -> np.ndarray:
    """(M,) BVP of one video by one method (trace or crops as the method asks)."""
    from kdphys.pipeline.engine import fill_gaps

    if not signals.face.any():
        return np.zeros(len(signals.t_s))
    x = fill_gaps(signals.trace) if method.input_kind == "trace" else signals.crops
    bvp = np.asarray(method.bvp(x, fps), np.float64)
    if len(bvp) != len(signals.t_s):
        raise KDPhysError(f"method {method.name} returned {len(bvp)} samples for {len(signals.t_s)} frames")
    return bvp


def windows(n: int, fps: float, window_s: float | None) -> list[slice]:
    """Whole video, or non-overlapping windows of window_s (a last partial window is kept if >= half)."""
    if window_s is None:
        return [slice(0, n)]
    size = int(round(window_s * fps))
    out = [slice(i, i + size) for i in range(0, n - size + 1, size)]
    rest = n - len(out) * size
    if rest >= size // 2 or not out:
        out.append(slice(n - min(size, n), n))
    return out


def evaluate_video(dataset: str, record, signals: VideoSignals, methods: dict[str, BVPMethod],
                   settings: EvalSettings) -> list[VideoResult]:
    from kdphys.signal.hr_track import TrackSettings
    from kdphys.signal.readings import read_signal
    from kdphys.data.reference import window_hr_from_beats

    fps, band = settings.fps, settings.band_hz
    track = TrackSettings() if settings.window_s is None else replace(TrackSettings(), window_s=settings.window_s,
                                                                      min_window_s=min(5.0, settings.window_s))
    ref_wave = sig.preprocess(signals.bvp_ref, fps) if len(record.bvp) >= 2 else None
    rows = []
    for label, method in methods.items():
        bvp = method_bvp(method, signals, fps)
        app = read_signal(bvp, fps, signals.face, raw_trace=signals.trace, track=track)
        app_slices = [slice(int(round(w.start_s * fps)), int(round(w.end_s * fps))) for w in app.windows]
        tracked = np.array([w.candidate_hr_bpm for w in app.windows])
        ref_beats = (window_hr_from_beats(ref_wave, fps, app_slices) if ref_wave is not None and app_slices
                     else np.full(len(app_slices), float(record.hr_bpm or np.nan)))
        for w, part in enumerate(windows(len(bvp), fps, settings.window_s)):
            if len(record.bvp) >= 2:
                ref_hr = sig.spectral_hr_bpm(signals.bvp_ref[part], fps, band)
            elif record.hr_bpm is not None and settings.window_s is None:
                ref_hr = float(record.hr_bpm)
            else:
                raise KDPhysError(f"{record.video_path}: no reference waveform, only a mean HR; evaluate it "
                                  "with window_s=None (one HR per video).")
            est_hr = sig.spectral_hr_bpm(bvp[part], fps, band)
            snr = float(sig.snr_db(sig.preprocess(bvp[part], fps, band), fps, ref_hr, band))
            inside = [i for i, sl in enumerate(app_slices) if sl.start >= part.start and sl.stop <= part.stop]
            if settings.window_s is not None:   # the app's window that matches this one (ends with it)
                inside = [i for i in inside if app_slices[i].stop == part.stop][-1:]
            app_row = _app_figures(app, inside, tracked, ref_beats)
            rows.append(VideoResult(dataset=dataset, method=label, subject_id=str(record.subject_id),
                                    video=str(record.video_path), window=w if settings.window_s else -1,
                                    hr_ref_bpm=ref_hr, hr_est_bpm=est_hr, abs_error_bpm=abs(est_hr - ref_hr),
                                    snr_db=snr, face_fraction=float(signals.face[part].mean()), **app_row))
    return rows


def _app_figures(app, inside: list[int], tracked: np.ndarray, ref_beats: np.ndarray) -> dict:
    """The app's figures over the app windows ``inside``: tracked (ungated) median, reading and its
    reference, read share."""
    nan = float("nan")
    if not inside:
        return {}
    idx = np.array(inside)
    read = app.accepted[idx]
    ref = ref_beats[idx]
    ok = np.isfinite(tracked[idx])
    out = {"hr_ref_beats_bpm": float(np.nanmedian(ref)) if np.isfinite(ref).any() else nan,
           "hr_tracked_bpm": float(np.median(tracked[idx][ok])) if ok.any() else nan,
           "read_share": float(read.mean())}
    if len(inside) == len(app.windows):            # the whole video: the app's own summary
        reading = app.summary.hr_bpm
    else:
        reading = app.windows[inside[0]].reading.hr_bpm if read.all() else None
    if reading is not None and np.isfinite(ref[read]).any():
        out["hr_read_bpm"] = float(reading)
        out["hr_ref_read_bpm"] = float(np.nanmedian(ref[read]))
    return out


# ------------------------------------------------------------------------------------------------ report
def summarize(rows: list[VideoResult]) -> list[MethodSummary]:
    """One MethodSummary per (dataset, method), in first-seen order."""
    keys = list(dict.fromkeys((r.dataset, r.method) for r in rows))
    out = []
    for dataset, method in keys:
        sel = [r for r in rows if r.dataset == dataset and r.method == method]
        est = np.array([r.hr_est_bpm for r in sel])
        ref = np.array([r.hr_ref_bpm for r in sel])
        ba = metrics.bland_altman(est, ref)
        r_value = metrics.pearson(est, ref) if len(sel) > 2 and est.std() > 0 and ref.std() > 0 else float("nan")
        tracked = np.array([[r.hr_tracked_bpm, r.hr_ref_beats_bpm] for r in sel])
        tracked = tracked[np.isfinite(tracked).all(axis=1)]
        read = np.array([[r.hr_read_bpm, r.hr_ref_read_bpm] for r in sel])
        read = read[np.isfinite(read).all(axis=1)]
        out.append(MethodSummary(dataset=dataset, method=method, n=len(sel), mae_bpm=metrics.mae(est, ref),
                                 rmse_bpm=metrics.rmse(est, ref), mape_pct=metrics.mape(est, ref),
                                 pearson_r=float(r_value), snr_db=float(np.mean([r.snr_db for r in sel])),
                                 ba_bias_bpm=ba.bias, ba_loa_low_bpm=ba.loa_low, ba_loa_high_bpm=ba.loa_high,
                                 mae_tracked_bpm=metrics.mae(*tracked.T) if len(tracked) else float("nan"),
                                 mae_read_bpm=metrics.mae(*read.T) if len(read) else float("nan"),
                                 n_read=len(read), read_share=float(np.mean([r.read_share for r in sel]))))
    return out


def markdown_table(summaries: list[MethodSummary], protocol: str = "") -> str:
    head = f"Protocol: {protocol}\n\n" if protocol else ""
    lines = ["| dataset | method | n | MAE (bpm) | RMSE (bpm) | MAPE (%) | r | SNR (dB) | app MAE, ungated (bpm) "
             "| app MAE, read (bpm) | read | windows read |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        r = "–" if not np.isfinite(s.pearson_r) else f"{s.pearson_r:.3f}"
        read_mae = "–" if not np.isfinite(s.mae_read_bpm) else f"{s.mae_read_bpm:.2f}"
        lines.append(f"| {s.dataset} | {s.method} | {s.n} | {s.mae_bpm:.2f} | {s.rmse_bpm:.2f} | {s.mape_pct:.2f} "
                     f"| {r} | {s.snr_db:.2f} | {s.mae_tracked_bpm:.2f} | {read_mae} | {s.n_read} of {s.n} "
                     f"| {100 * s.read_share:.0f}% |")
    return head + "\n".join(lines) + "\n"


def write_csv(rows: list[VideoResult], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(VideoResult.__dataclass_fields__))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(r).items()})
    return path


def bland_altman_plot(rows: list[VideoResult], path: Path, title: str) -> Path:
    """Bland-Altman PNG: mean of (est, ref) vs difference, bias and 95% limits of agreement."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    est = np.array([r.hr_est_bpm for r in rows])
    ref = np.array([r.hr_ref_bpm for r in rows])
    ba = metrics.bland_altman(est, ref)
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.scatter((est + ref) / 2, est - ref, s=14, alpha=0.7)
    for y, style, text in ((ba.bias, "-", f"bias {ba.bias:+.2f}"), (ba.loa_low, "--", f"-1.96 SD {ba.loa_low:+.2f}"),
                           (ba.loa_high, "--", f"+1.96 SD {ba.loa_high:+.2f}")):
        ax.axhline(y, color="k", linestyle=style, linewidth=1)
        ax.annotate(text, xy=(1.0, y), xycoords=("axes fraction", "data"), ha="right", va="bottom", fontsize=8)
    ax.set_xlabel("mean of estimate and reference HR (bpm)")
    ax.set_ylabel("estimate - reference HR (bpm)")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def select_records(dataset, settings: EvalSettings) -> list:
    """The videos the protocol evaluates: the test subjects (intra) or all videos (cross)."""
    records = dataset.records()
    if settings.protocol == "intra":
        from kdphys.data.splits import subject_split
        records = subject_split(records, settings.split_fractions, settings.split_seed)[2]
    if not records:
        raise KDPhysError(f"No videos to evaluate in {getattr(dataset, 'name', dataset)} under the "
                          f"{settings.protocol} protocol; check the dataset root (or use --protocol cross).")
    return records


def evaluate(datasets: dict, methods: list, out_dir: str | Path | None = None,
             settings: EvalSettings | None = None, progress: bool = True, tracker_factory=None) -> EvalReport:
    """Evaluate ``methods`` (names, "kind=PATH" specs or BVPMethod objects) on ``datasets`` ({label: RppgDataset}).

    Writes ``per_video.csv``, ``results.md`` and ``bland_altman_<dataset>_<method>.png`` into ``out_dir``.
    """
    from tqdm import tqdm

    from kdphys.methods.base import crop_size_for, skin_region_for

    settings = settings or EvalSettings()
    resolved = dict(resolve_method(m) for m in methods)
    if settings.crop_size is None:
        settings = replace(settings, crop_size=crop_size_for(resolved.values()))
    if settings.skin_region is None:
        settings = replace(settings, skin_region=skin_region_for(resolved.values()))
    rows: list[VideoResult] = []
    for label, dataset in datasets.items():
        records = select_records(dataset, settings)
        for record in tqdm(records, desc=f"evaluating {label}", disable=not progress):
            signals = cached_extract(record, settings.extract_settings(), tracker_factory)
            rows += evaluate_video(label, record, signals, resolved, settings)
    summaries = summarize(rows)
    markdown = markdown_table(summaries, settings.protocol)
    csv_path, plots = None, []
    if out_dir is not None:
        out_dir = Path(out_dir)
        csv_path = write_csv(rows, out_dir / "per_video.csv")
        (out_dir / "results.md").write_text(markdown)
        for s in summaries:
            sel = [r for r in rows if r.dataset == s.dataset and r.method == s.method]
            name = f"bland_altman_{_safe(s.dataset)}_{_safe(s.method)}.png"
            plots.append(bland_altman_plot(sel, out_dir / name, f"{s.method} on {s.dataset} (n={s.n})"))
    return EvalReport(rows=rows, summaries=summaries, markdown=markdown, csv_path=csv_path, plots=plots)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)
