"""docs/benchmarks/optimization.md is written by more than one script: each owns a marked section.

benchmarks/optimization.py writes the document and carries over the sections it does not own;
benchmarks/optimization_ablation.py replaces its own section only. Every section names the
command that produced its figures, so each stays reproducible by the command beside it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "benchmarks" / "optimization.md"


def begin_marker(name: str) -> str:
    """The line that opens section `name`."""
    return f"<!-- section {name}: generated, edit the script named below instead -->"


def end_marker(name: str) -> str:
    """The line that closes section `name`."""
    return f"<!-- end of section {name} -->"


def wrap_section(name: str, body: str) -> str:
    """`body` between the markers of section `name`."""
    return f"{begin_marker(name)}\n{body.strip()}\n{end_marker(name)}\n"


def read_section(text: str, name: str) -> str | None:
    """Section `name` of `text` with its markers, or None when `text` has none."""
    pattern = re.escape(begin_marker(name)) + r".*?" + re.escape(end_marker(name)) + r"\n?"
    found = re.search(pattern, text, flags=re.DOTALL)
    return found.group(0) if found else None


def write_section(name: str, body: str, path: Path = DOCUMENT) -> None:
    """Replace section `name` of the document at `path`, or append it when it has none yet."""
    text = path.read_text() if path.exists() else ""
    section = wrap_section(name, body)
    current = read_section(text, name)
    if current is None:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    else:
        text = text.replace(current, section)
    path.write_text(text)
