"""The hashed locks agree with the hand-edited requirements (`make lock` was run after an edit)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.lock", "requirements-dev.lock", "requirements-torch.lock")
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normal(name: str) -> str:
    """A package name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: str) -> set[tuple[str, str]]:
    """(name, version) of every pin in a requirements file, -r includes followed."""
    found = set()
    for line in (ROOT / path).read_text().splitlines():
        if line.startswith("-r "):
            found |= pins(line.split()[1])
        elif match := PIN.match(line):
            found.add((normal(match.group(1)), match.group(2)))
    return found


def locked(path: str) -> dict[str, list[tuple[str, list[str]]]]:
    """Each package of a lock: its (version, hashes) entries (one per marker it is split by)."""
    entries: dict[str, list[tuple[str, list[str]]]] = {}
    hashes: list[str] = []
    for line in (ROOT / path).read_text().splitlines():
        if match := PIN.match(line):
            hashes = []
            entries.setdefault(normal(match.group(1)), []).append((match.group(2), hashes))
        elif line.strip().startswith("--hash=sha256:"):
            hashes.append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return entries


def torch_version() -> str:
    return dict(pins("requirements.txt"))["torch"]


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_has_sha256_hashes(lock):
    entries = locked(lock)
    assert entries
    for name, versions in entries.items():
        for version, hashes in versions:
            assert hashes, f"{lock}: {name}=={version} has no hash"
            assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


@pytest.mark.parametrize(
    ("requirements", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_every_pin_is_locked_at_its_version(requirements, lock):
    entries = locked(lock)
    unlocked = sorted(
        f"{name}=={version}"
        for name, version in pins(requirements) - {("torch", torch_version())}
        if version not in {v for v, _ in entries.get(name, [])}
    )
    assert not unlocked, f"pinned in {requirements}, not in {lock} (run make lock): {unlocked}"


def test_torch_and_its_cuda_libraries_are_only_in_the_torch_lock():
    torch_only = set(locked("requirements-torch.lock")) - set(locked("requirements.lock"))
    assert "torch" in torch_only and "triton" in torch_only
    assert any(name.startswith("nvidia-") for name in torch_only)
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert not torch_only & set(locked(lock)), lock
    assert [v for v, _ in locked("requirements-torch.lock")["torch"]] == [torch_version()]


def test_locks_agree_on_every_package_they_share():
    runtime = locked("requirements.lock")
    for lock in ("requirements-dev.lock", "requirements-torch.lock"):
        for name, entries in locked(lock).items():
            if name in runtime:
                assert entries == runtime[name], f"{lock} and requirements.lock differ on {name}"
