"""The training data: recordings prepared once (synthetic set, re-encoded copies, extraction caches), then
cut into clips for every epoch.

    prepare(cfg.data)                                   # python -m kdphys prepare: writes, cached
    train_set, val_set = load_window_sets(cfg.data)     # train: only reads what prepare made

A real dataset split by subject, the synthetic set, and ``data.real`` (a real dataset mixed in, with its
validation subjects) are described in kdphys.training.config.DataConfig; every record goes through the
shared extraction (kdphys.pipeline.extract) and becomes a kdphys.data.windows.Recording.
"""

from __future__ import annotations

from tqdm import tqdm

from kdphys.data.reencode import reencoded
from kdphys.data.windows import FixedWindows, TrainWindows
from kdphys.errors import KDPhysError
from kdphys.training.config import DataConfig


def load_window_sets(data: DataConfig, seed: int = 0, rank: int = 0, world: int = 1):
    """(train TrainWindows, val FixedWindows) from prepared recordings (``prepare``); NotPrepared when the
    synthetic set, a re-encoded copy or an extraction is missing."""
    groups, val = training_recordings(data, progress=False, prepare=False)

    aug = data.augment if data.augment.enabled else None
    train_set = TrainWindows(groups, chunk_len=data.chunk_len, fps=data.fps, augment=aug,
                             clips_per_epoch=data.clips_per_epoch, seed=seed)
    val_set = FixedWindows(val, chunk_len=data.chunk_len)
    if len(val_set) == 0:
        raise KDPhysError("No validation clips: the validation recordings are shorter than chunk_len="
                          f"{data.chunk_len} frames or show no face throughout.")
    return train_set, val_set


def prepare(data: DataConfig, progress: bool = True) -> tuple[dict, list]:
    """Write the synthetic set, the re-encoded copies and every recording's extraction (all cached, so a
    second call only reads); returns what ``training_recordings`` returns."""
    return training_recordings(data, progress=progress, prepare=True)


def training_recordings(data: DataConfig, progress: bool = True, prepare: bool = True) -> tuple[dict, list]:
    """({group: (share, [Recording])}, validation [Recording]) as ``data`` says (see DataConfig): synthetic
    or a subject-split dataset as one group, ``data.real`` as the other. ``prepare=False``: read what
    ``prepare`` made, never write (NotPrepared when something is missing)."""
    from kdphys.data.base import RecordList
    from kdphys.data.splits import subject_split

    groups, val = {}, []
    real = data.real
    if data.dataset == "synthetic":
        from kdphys.data.folder import VideoFolder
        from kdphys.data.synthetic.sets import build_synthetic_set
        sets = build_synthetic_set(data.root, data.synthetic, write=prepare)
        base_train, base_val = VideoFolder(sets.train_dir), VideoFolder(sets.val_dir)
    elif data.dataset != "none":
        dataset = open_dataset(data.dataset, data.root)
        train, val_records, _test = subject_split(dataset.records(), data.split_fractions, data.split_seed)
        if not train or not val_records:
            raise KDPhysError(f"{data.dataset} at {data.root} has too few subjects for a train/val split; "
                              f"change data.split_fractions (now {data.split_fractions}).")
        base_train, base_val = RecordList(dataset.name, train), RecordList(dataset.name, val_records)
    if data.dataset != "none":
        share = 1.0 - real.share if real.dataset else 1.0
        groups[data.dataset] = (share, _recordings(base_train.records(), data, progress, "train", prepare))
        val = _recordings(base_val.records(), data, progress, "val", prepare)
    if real.dataset:
        records = open_dataset(real.dataset, real.root).records()
        subjects = sorted({str(r.subject_id) for r in records})
        unknown = sorted(set(real.val_subjects) - set(subjects))
        if unknown:
            raise KDPhysError(f"data.real.val_subjects {unknown} are not in {real.root} (subjects: {subjects}).")
        wanted = set(real.train_subjects) if real.train_subjects is not None else set(subjects) - set(real.val_subjects)
        if wanted & set(real.val_subjects):
            raise KDPhysError(f"Subjects {sorted(wanted & set(real.val_subjects))} are in both train_subjects and "
                              "val_subjects: a subject must not be trained on and validated on.")
        train_records = [r for r in records if str(r.subject_id) in wanted]
        if not train_records:
            raise KDPhysError(f"No training subjects left in {real.root} (val_subjects: {list(real.val_subjects)}).")
        with_copies = train_records + [reencoded(r, b, data.reencode_dir, write=prepare)
                                       for b in real.bitrates for r in train_records]
        groups["real"] = (real.share if data.dataset != "none" else 1.0,
                          _recordings(with_copies, data, progress, "real train", prepare))
        held = [r for r in records if str(r.subject_id) in set(real.val_subjects)]
        if held:
            val = _recordings(held, data, progress, "real val", prepare)
    if not groups:
        raise KDPhysError("No training data: data.dataset is 'none' and data.real.dataset is empty.")
    return groups, val


def _recordings(records, data: DataConfig, progress: bool, what: str, prepare: bool) -> list:
    """Each record through the shared extraction (kdphys.pipeline.extract, cached) as a kdphys.data.windows.Recording."""
    from kdphys.data.windows import make_recording
    from kdphys.pipeline.extract import ExtractSettings, cached_extract

    settings = ExtractSettings(fps=data.fps, crop_size=data.crop_size, skin_region=data.skin_region,
                               cache_dir=data.cache_dir)
    out = []
    for rec in tqdm(list(records), desc=f"extracting {what}", disable=not progress, leave=False):
        signals = cached_extract(rec, settings, extract=prepare)
        out.append(make_recording(signals, str(rec.record_id), str(rec.subject_id), data.fps))
    return out


def open_dataset(name: str, root: str):
    """An RppgDataset by name (kdphys.data.get_dataset: ubfc, pure, mmpd, folder) as a KDPhysError when unknown."""
    from kdphys.data import get_dataset

    try:
        return get_dataset(name, root)
    except ValueError as err:
        raise KDPhysError(f"{err} ('synthetic' and 'none' are data.dataset values of their own.)") from None
