"""Which methods the app offers: their names for people, whether their weights exist, the default.

    statuses = model_status()          # {name: ModelStatus(available, detail)} for student, teacher, pos, ...
    default_method()                   # "student" when its weights exist, else "pbv-pos-or-green"
    default_method(live=True)          # "pos" (the student is not the live default yet)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kdphys import paths
from kdphys.errors import KDPhysError

#: Weight files that make a neural method available, in order of preference.
WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    "student": ("student.onnx", "student.pt"),
    "teacher": ("teacher.pt",),
}
#: Method names shown to users, in display order.
APP_METHODS = ("student", "teacher", "pbv-pos-or-green", "pos", "pbv", "chrom", "green")
#: Each method in words, for the app and reports.
METHOD_LABELS = {"student": "Student (small neural network)", "teacher": "Teacher (large neural network)",
                 "pbv-pos-or-green": "PBV, POS or green (classical)",
                 "pos": "POS (classical)", "pbv": "PBV (classical)", "chrom": "CHROM (classical)",
                 "green": "Green channel (classical)"}


#: What a method does, where its label does not say it (shown beside the method choice).
METHOD_NOTES = {"student": ("Where the student gives no reading, PBV, POS or the green channel reads the video "
                            "instead, and the result says which."),
                "pbv-pos-or-green": ("PBV, POS or green reads the video with PBV, POS or the green channel, "
                                     "whichever shows the clearest pulse; the result says which.")}
#: A method's signal in a few words, for "read with ..." (Snapshot.signal_source).
SOURCE_WORDS = {"pos": "POS", "pbv": "PBV", "green": "the green channel", "chrom": "CHROM"}


def source_note(name: str, source: str | None) -> str | None:
    """Which signal method ``name`` was read with, in words, when it is not its own (``source``, e.g.
    ``Snapshot.signal_source``, differs from ``name``): "read with the green channel" for a choosing method,
    "no reading from it: read with POS" for a network whose upload fallback read the video; else None."""
    if not source or source == name:
        return None
    words = SOURCE_WORDS.get(source, source)
    return f"no reading from it: read with {words}" if name in WEIGHT_FILES else f"read with {words}"


def method_label(name: str, source: str | None = None) -> str:
    """A method in words ("POS (classical)"); unknown names as they are; with ``source_note(name, source)``
    after a comma when there is one ("Student (small neural network), no reading from it: read with POS")."""
    label = METHOD_LABELS.get(name, name)
    note = source_note(name, source)
    return f"{label}, {note}" if note else label


def weights_version(name: str, weights_dir: Path | None = None) -> str:
    """Which weights a method runs on, in words: "no weights (classical method)" or "student.onnx, SHA-256
    6a870a74cff9" (the first 12 hex digits of the file's checksum), or "not available"."""
    from kdphys.models.checkpoints import SUMS_NAME, read_checksums, sha256_file

    files = WEIGHT_FILES.get(name)
    if files is None:
        return "no weights (classical method)"
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    found = [f for f in files if (weights_dir / f).is_file()]
    if not found:
        return "not available"
    sums_path = weights_dir / SUMS_NAME
    sums = read_checksums(sums_path) if sums_path.is_file() else {}
    digest = sums.get(found[0]) or sha256_file(weights_dir / found[0])
    return f"{found[0]}, SHA-256 {digest[:12]}"



@dataclass(frozen=True)
class ModelStatus:
    """Whether a method can run here.

    Attributes:
        name: method name for kdphys.methods.get_method.
        available: True when it can run (classical methods always; neural ones when their weights exist).
        detail: a sentence for a person: the weight file used, or what is missing.
    """

    name: str
    available: bool
    detail: str


def model_status(weights_dir: Path | None = None) -> dict[str, ModelStatus]:
    """Status of every app method, keyed by name (files are only looked at, nothing is loaded)."""
    weights_dir = Path(weights_dir or paths.WEIGHTS_DIR)
    out: dict[str, ModelStatus] = {}
    for name in APP_METHODS:
        files = WEIGHT_FILES.get(name)
        if files is None:
            out[name] = ModelStatus(name, True, "classical method, no weights needed")
            continue
        found = [f for f in files if (weights_dir / f).is_file()]
        if found:
            out[name] = ModelStatus(name, True, f"weights/{found[0]}")
        else:
            out[name] = ModelStatus(name, False, f"not trained yet (no weights/{' or weights/'.join(files)})")
    return out


def available_methods(weights_dir: Path | None = None) -> list[str]:
    """Names of the methods that can run, in display order (student and teacher only with weights)."""
    return [name for name, s in model_status(weights_dir).items() if s.available]


#: Where the app starts with the student when its weights exist: uploads, not live. Held out (``kdphys cv``,
#: each UBFC-rPPG dev subject read by models trained on the other seven), uploaded, it beats POS and POS or
#: green: ungated tracked MAE 0.80 bpm (POS 5.17, POS or green 1.64), 7 of 8 subjects read (POS 6); the sample
#: clip read in 82 % of its windows (POS 36 %). Live it reads more often than POS but errs more: replayed
#: (benchmarks/live_replay.py, fold models) 8 of 8 subjects got a heart rate (POS 6), 25 samples > 5 bpm off
#: (POS 9). weights/MODEL_CARD.md has the figures and the student's limits (no reading at 40-50 bpm).
STUDENT_DEFAULT = {"upload": True, "live": False}
#: Classical default of uploads without student weights: PBV, POS or green, whichever the tracker follows most
#: confidently over the recording (8 of 8 dev subjects read, POS or green 7, POS 6; benchmarks/dev_readings.py).
UPLOAD_CLASSICAL = "pbv-pos-or-green"
#: Classical default of live: POS. On a rolling 30 s the choice between POS and green is made on too few
#: windows: it picked wrong green tracks on three dev subjects (benchmarks/live_replay.py; docs/DESIGN.md).
#: PBV alone, replayed live, gives every dev clip a heart rate but 27 samples > 5 bpm off (POS 9).
LIVE_CLASSICAL = "pos"


#: Uploads: the method that reads a recording where the named one gives no reading (``EngineSettings.fallback``;
#: the result says "read with PBV", "read with POS" or "read with the green channel"). The student gives no
#: reading on slow (40-50 bpm) and 180 bpm synthetic pulses that these read right (benchmarks/synthetic_sweep.py).
UPLOAD_FALLBACK = {"student": UPLOAD_CLASSICAL}


def upload_fallback(method: str) -> str | None:
    """The classical method that reads an upload where ``method`` gives no reading, or None."""
    return UPLOAD_FALLBACK.get(method)


#: Live: the method whose window is shown where the named one's is not clear enough (``Engine.live_reading``;
#: the page says "read with POS"). The student's live windows sit near the gate on webcam video
#: (benchmarks/live_replay.py; docs/DESIGN.md), where POS reads.
LIVE_FALLBACK = {"student": LIVE_CLASSICAL}


def live_fallback(method: str) -> str | None:
    """The classical method that reads a live window where ``method`` gives no reading, or None."""
    return LIVE_FALLBACK.get(method)


def default_method(weights_dir: Path | None = None, live: bool = False) -> str:
    """The student where ``STUDENT_DEFAULT`` says so and its weights exist, else the classical default of
    uploads (``UPLOAD_CLASSICAL``) or, with ``live``, of the live page (``LIVE_CLASSICAL``)."""
    if STUDENT_DEFAULT["live" if live else "upload"] and model_status(weights_dir)["student"].available:
        return "student"
    return LIVE_CLASSICAL if live else UPLOAD_CLASSICAL


def parameter_count(name: str) -> int | None:
    """Number of trainable parameters of a method's network; 0 for classical methods; None if unavailable."""
    if name not in WEIGHT_FILES:
        return 0
    from kdphys.models.checkpoints import shipped_model

    try:
        model = shipped_model(name)
    except KDPhysError:
        return None
    return int(sum(p.numel() for p in model.parameters()))
