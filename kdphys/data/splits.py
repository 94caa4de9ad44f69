"""Subject-wise splits: no person appears in two of train / val / test.

    train, val, test = subject_split(dataset.records(), fractions=(0.6, 0.2, 0.2), seed=0)

The split is a pure function of the sorted subject ids and the seed, so training (kdphys.training.loop) and the
intra-dataset protocol of kdphys.evaluation.evaluate agree on which subjects are held out.
"""

from __future__ import annotations

import numpy as np

from kdphys.data.base import VideoRecord


def subject_split(records: list[VideoRecord], fractions=(0.6, 0.2, 0.2), seed: int = 0
                  ) -> tuple[list[VideoRecord], list[VideoRecord], list[VideoRecord]]:
    """Split records into train, val, test by subject id (each subject in exactly one part).

    Args:
        records: the dataset's videos.
        fractions: shares of *subjects* in train, val, test (normalised to sum 1). With few subjects
            every non-zero share gets at least one subject when there are enough subjects.
        seed: shuffling seed.
    """
    subjects = sorted({r.subject_id for r in records})
    order = np.random.default_rng(seed).permutation(len(subjects))
    shares = np.asarray(fractions, float) / float(np.sum(fractions))
    counts = np.floor(shares * len(subjects)).astype(int)
    for i in np.argsort(-shares):                       # hand out the remainder, largest share first
        if counts.sum() >= len(subjects):
            break
        counts[i] += 1
    for i in range(3):                                  # a non-zero share gets one subject if possible
        if shares[i] > 0 and counts[i] == 0 and counts.max() > 1:
            counts[int(np.argmax(counts))] -= 1
            counts[i] += 1
    bounds = np.cumsum(counts)
    part_of = {}
    for rank, idx in enumerate(order):
        part_of[subjects[idx]] = int(np.searchsorted(bounds, rank, side="right"))
    parts: tuple[list, list, list] = ([], [], [])
    for r in records:
        parts[part_of[r.subject_id]].append(r)
    return parts
