"""The README's examples work as written: its Python block runs, its commands exist, its test commands are CI's."""

import contextlib
import io
import re

import pytest

from kdphys.cli import COMMANDS
from kdphys.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_every_kdphys_command_in_the_readme_exists():
    named = set(re.findall(r"^(?:kdphys|\.venv/bin/python -m kdphys) ([a-z-]+)", README, flags=re.M))
    assert {"analyze", "prepare", "train-release", "cv", "evaluate", "export", "bench"} <= named
    assert named <= set(COMMANDS), f"README names commands that do not exist: {sorted(named - set(COMMANDS))}"


def test_readme_test_command_is_what_ci_runs():
    ci = (REPO_ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert f"```bash\n{ci}\n```" in README


@pytest.mark.slow
def test_python_example_runs_on_the_sample_clip(monkeypatch):
    block = re.search(r"```python\n(.*?)```", _section("From Python"), flags=re.S).group(1)
    monkeypatch.chdir(REPO_ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert re.fullmatch(r"\d+\.\d bpm \((good|fair|poor)\).*read in \d+% of the video", lines[0]), lines[0]
    windows = lines[1:]
    assert len(windows) >= 5
    assert all(re.fullmatch(r"\d+-\d+ s: (\d+\.\d+|None) bpm \((good|fair|poor|none)\)", w) for w in windows), windows
    assert any(": None bpm" not in w for w in windows)            # the windows behind the headline
