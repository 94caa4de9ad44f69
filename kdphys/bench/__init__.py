"""Speed and memory benchmark of KDPhys (``python -m kdphys bench``); results in docs/PERFORMANCE.md.

    from kdphys.bench import BenchSettings, run_bench
    tables = run_bench(BenchSettings(sections=("params", "models")))

Modules: clips (cached benchmark videos and face crops), measure (the measurements, plain dicts),
worker (one measurement per subprocess for clean peak RSS), suite (sections -> tables), tables.
"""

from kdphys.bench.suite import SECTIONS, BenchContext, BenchSettings, run_bench
from kdphys.bench.tables import Table

__all__ = ["BenchContext", "BenchSettings", "SECTIONS", "Table", "run_bench"]
