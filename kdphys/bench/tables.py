"""Result tables of the benchmark: a title, column names, rows of strings, and notes, printed as Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    """One section of the benchmark output.

    Attributes:
        title: section heading.
        columns: column names (with units, e.g. "ms/frame").
        rows: one list of cell strings per row, each as long as ``columns``.
        notes: lines printed under the table (what was measured, how, caveats).
    """

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells) -> None:
        """Append a row; cells are formatted with ``cell`` (None -> "–")."""
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells, table '{self.title}' has {len(self.columns)} columns")
        self.rows.append([cell(c) for c in cells])

    def to_markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        lines += [""] + [f"- {note}" for note in self.notes] if self.notes else []
        return "\n".join(lines) + "\n"


def cell(value, digits: int = 2) -> str:
    """Table cell text: None -> "–", floats with ``digits`` decimals (3 significant below 1), ints with
    thousands separators, anything else str()."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if 0 < abs(value) < 1:
            return f"{value:.3g}"
        return f"{value:.{digits}f}"
    return str(value)


def si(value: float | None, unit: str = "") -> str:
    """1.23M / 45.6k style numbers (MACs, parameters)."""
    if value is None:
        return "–"
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f}{suffix}{unit}"
    return f"{value:.0f}{unit}"
