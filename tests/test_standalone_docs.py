"""The repository stands alone: nothing points outside it, and its doc references resolve.

Files are those git tracks plus new ones it does not ignore (`git ls-files --cached --others
--exclude-standard`), so a file fails before its first commit too. Binary files and this test
are skipped.
"""

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()

# Files a clone does not have: the developers' shared folder beside the repository.
OUTSIDE = re.compile(r"\.\./shared|shared/cost-model|shared/DESIGN")
# Any path ending in DESIGN.md; it must name a file of the repository (a bare one never does).
DESIGN = re.compile(r"[\w./-]*DESIGN\.md")
# "docs/cost-model.md section 3", "docs/cost-model.md sections 3 and 4", "docs/x.md §2".
CITATION = re.compile(
    r"docs/([\w-]+)\.md`?\s+(?:#\s+)?(?:§\s*|sections?\s+)"
    r"(\d+(?:(?:\s*,\s*|\s+and\s+|\s*,\s*and\s+)\d+)*)"
)
# The same citation without its folder: "cost-model.md section 3" (no such path at the root).
UNROOTED = re.compile(r"(?<![\w/.-])([\w-]+\.md)`?\s+(?:#\s+)?(?:§\s*\d|sections?\s+\d)")
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^## (\d+)\.\s", re.MULTILINE)


@cache
def repository_files() -> tuple[Path, ...]:
    """Tracked and new, not ignored, files that exist in the working tree."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout ({exc})")
    paths = (ROOT / name for name in out.decode().split("\0") if name)
    return tuple(sorted({p for p in paths if p.is_file() and p.resolve() != THIS}))


@cache
def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def text_files() -> list[tuple[Path, str]]:
    """(path, text) of every repository file that is text."""
    return [(p, text) for p in repository_files() if (text := text_of(p)) is not None]


def in_repository(path: Path) -> bool:
    """Whether `path` exists inside the repository (a clone has nothing beside it)."""
    return path.exists() and path.resolve().is_relative_to(ROOT)


def where(path: Path, text: str, offset: int) -> str:
    """`path:line` of a character offset in `text`."""
    return f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, offset) + 1}"


@cache
def sections_of(name: str) -> frozenset[int] | None:
    """The numbered `## N.` sections of docs/<name>.md, or None when there is no such file."""
    doc = ROOT / "docs" / f"{name}.md"
    if not doc.is_file():
        return None
    return frozenset(int(n) for n in HEADING.findall(doc.read_text()))


def test_no_file_points_outside_the_repository():
    found = []
    for path, text in text_files():
        for match in OUTSIDE.finditer(text):
            found.append(f"{where(path, text, match.start())}: {match.group()}")
        for match in DESIGN.finditer(text):
            token = match.group().removeprefix("./")
            if token == "DESIGN.md" or not (
                in_repository(ROOT / token) or in_repository(path.parent / token)
            ):
                found.append(f"{where(path, text, match.start())}: {match.group()}")
    assert not found, "references to files a clone does not have:\n" + "\n".join(found)


def test_every_cited_section_exists():
    cited = 0
    missing = []
    for path, text in text_files():
        for match in CITATION.finditer(text):
            name, numbers = match.group(1), [int(n) for n in re.findall(r"\d+", match.group(2))]
            sections = sections_of(name)
            for number in numbers:
                cited += 1
                if sections is None:
                    missing.append(f"{where(path, text, match.start())}: no docs/{name}.md")
                elif number not in sections:
                    missing.append(
                        f"{where(path, text, match.start())}: docs/{name}.md has no "
                        f"section {number} (it has {sorted(sections)})"
                    )
    assert cited, "no citation found: the pattern no longer matches how code cites the docs"
    assert not missing, "citations of sections that do not exist:\n" + "\n".join(missing)


def test_citations_name_the_docs_folder():
    unrooted = []
    for path, text in text_files():
        for match in UNROOTED.finditer(text):
            if not in_repository(ROOT / match.group(1)):
                unrooted.append(f"{where(path, text, match.start())}: {match.group().strip()}")
    assert not unrooted, "cite docs as docs/NAME.md section N:\n" + "\n".join(unrooted)


def markdown_documents() -> list[Path]:
    """README.md and every markdown file under docs/."""
    docs = [p for p in repository_files() if p.suffix == ".md"]
    return [p for p in docs if p == ROOT / "README.md" or (ROOT / "docs") in p.parents]


def test_relative_markdown_links_point_to_files_that_exist():
    documents = markdown_documents()
    assert ROOT / "README.md" in documents
    assert {ROOT / "docs" / "architecture.md", ROOT / "docs" / "cost-model.md"} <= set(documents)
    broken = []
    for path in documents:
        text = FENCE.sub("", path.read_text())
        for match in [*LINK.finditer(text), *REFERENCE_LINK.finditer(text)]:
            target = match.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
                continue  # a URL, a mail address, or an anchor in the same page
            relative = target.split("#", 1)[0].split("?", 1)[0]
            if not in_repository(path.parent / relative):
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "links to files the repository does not hold:\n" + "\n".join(broken)


@pytest.mark.parametrize(
    ("text", "cited"),
    [
        ("see docs/cost-model.md section 3.", ["3"]),
        ("(docs/cost-model.md sections 3 and 4)", ["3", "4"]),
        ("`docs/cost-model.md` section 10 use", ["10"]),
        ("docs/architecture.md sections 2, 5 and 7", ["2", "5", "7"]),
        ("in docs/cost-model.md\n# section 6.", ["6"]),
        ("docs/cost-model.md §4", ["4"]),
    ],
)
def test_citation_pattern(text, cited):
    match = CITATION.search(text)
    assert match is not None
    assert re.findall(r"\d+", match.group(2)) == cited


def test_outside_patterns():
    assert OUTSIDE.search("Design: [x](../shared/DESIGN.md)")
    assert OUTSIDE.search("`shared/cost-model.md` use")
    assert UNROOTED.search("hazard, cost-model.md section 1")
    assert not UNROOTED.search("hazard, docs/cost-model.md section 1")
    assert UNROOTED.search("an estimate (cost-model.md §3)")
    assert [m.group() for m in DESIGN.finditer("the DESIGN.md metric")] == ["DESIGN.md"]
