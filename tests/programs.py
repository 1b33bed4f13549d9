"""Where the tests and benchmarks find PostgreSQL, Redis and Chromium, and how to install them.

One lookup for every caller (tests/servers.py, the browser tests, the benchmarks and `make test`),
in this order:
- a variable names the program: PG_BIN (the folder of initdb and pg_ctl) or PG_CONFIG (the
  pg_config whose --bindir holds them), REDIS_SERVER, CHROMIUM;
- Debian's and Ubuntu's /usr/lib/postgresql/<version>/bin, the newest version first;
- PATH (redis-server, else valkey-server; chromium, chromium-browser, google-chrome);
- Homebrew's and the macOS applications' usual places;
- for Chromium last, the build Playwright downloads (`python -m playwright install chromium`).
A snap's Chromium (Ubuntu's `apt-get install chromium` gives one) is passed over: it cannot read
the profile that Playwright writes under /tmp.

`python -m tests.programs` prints what it found and exits 0, or prints the command that installs
what is missing on this platform and exits 1; with --install, as root on Debian or Ubuntu, it runs
that command instead.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HOMEBREW = ("/opt/homebrew", "/usr/local")
MACOS_BROWSERS = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)


class NotFound(LookupError):
    """A program the tests need is not installed, or a variable names one that is not there."""


def pg_bin(name: str) -> str:
    """The path of PostgreSQL's program `name` (initdb, pg_ctl), all from one installation."""
    return str(Path(_pg_folder()) / name)


def _pg_folder() -> str:
    folder = os.environ.get("PG_BIN")
    if not folder and os.environ.get("PG_CONFIG"):
        folder = _pg_config_bindir(os.environ["PG_CONFIG"])
    if folder:
        return str(Path(_named(Path(folder) / "initdb", "PG_BIN or PG_CONFIG")).parent)
    return str(Path(_first(_pg_candidates(), "PostgreSQL's initdb")).parent)


def _pg_candidates() -> Iterator[str | None]:
    yield from _newest_first(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    yield shutil.which("initdb")
    if pg_config := shutil.which("pg_config"):
        try:
            yield f"{_pg_config_bindir(pg_config)}/initdb"
        except NotFound:  # a broken pg_config on PATH hides no other installation
            pass
    homebrew = (glob.glob(f"{prefix}/opt/postgresql@*/bin/initdb") for prefix in HOMEBREW)
    yield from _newest_first(path for paths in homebrew for path in paths)
    yield from (f"{prefix}/opt/postgresql/bin/initdb" for prefix in HOMEBREW)
    yield "/Applications/Postgres.app/Contents/Versions/latest/bin/initdb"


def redis_server() -> str:
    """The path of redis-server (or Valkey's, which speaks the same protocol)."""
    if os.environ.get("REDIS_SERVER"):
        return _named(Path(os.environ["REDIS_SERVER"]), "REDIS_SERVER")
    candidates = [
        shutil.which("redis-server"),
        shutil.which("valkey-server"),
        *(f"{prefix}/bin/redis-server" for prefix in HOMEBREW),
    ]
    return _first(candidates, "redis-server")


def chromium() -> str:
    """The path of a Chromium (or Chrome) that Playwright can drive headless."""
    if os.environ.get("CHROMIUM"):
        return _named(Path(os.environ["CHROMIUM"]), "CHROMIUM")
    return _first(_chromium_candidates(), "Chromium")


def _chromium_candidates() -> Iterator[str | None]:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path and not _is_snap(path):
            yield path
    yield from MACOS_BROWSERS
    yield _playwright_chromium()  # last: it starts Playwright's driver to ask


def _named(path: Path, variable: str) -> str:
    if path.is_file() and os.access(path, os.X_OK):
        return str(path)
    raise NotFound(f"{variable} names {path}, which is not an executable file")


def _first(candidates: Iterable[str | None], what: str) -> str:
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise NotFound(f"{what} not found")


def _newest_first(paths: Iterable[str]) -> list[str]:
    """Paths holding a version number (postgresql/17/bin, postgresql@16/bin), newest first."""

    def version(path: str) -> int:
        found = re.search(r"postgresql[@/](\d+)", path)
        return int(found.group(1)) if found else 0

    return sorted(paths, key=version, reverse=True)


def _pg_config_bindir(pg_config: str) -> str:
    try:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise NotFound(f"{pg_config} --bindir failed: {error}") from error
    return done.stdout.strip()


def _is_snap(path: str) -> bool:
    """Whether `path` starts a snap (Ubuntu's chromium and chromium-browser are snap wrappers)."""
    if os.path.realpath(path).startswith("/snap/"):
        return True
    with open(path, "rb") as program:
        head = program.read(4096)
    return head.startswith(b"#!") and b"/snap/" in head


def _playwright_chromium() -> str | None:
    """The Chromium that `playwright install chromium` downloaded, when it did."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None

    def ask() -> str:
        with sync_playwright() as playwright:
            return playwright.chromium.executable_path

    # In a thread of its own: the sync API refuses to start inside a running asyncio loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(ask).result()


@dataclass(frozen=True)
class Platform:
    """This machine, as far as installing the test programs goes."""

    system: str  # "Linux", "Darwin"
    distribution: str  # os-release ID and ID_LIKE, e.g. "ubuntu debian"; "" off Linux

    @classmethod
    def here(cls) -> Platform:
        """This machine."""
        release = {}
        if Path("/etc/os-release").is_file():
            for line in Path("/etc/os-release").read_text().splitlines():
                key, _, value = line.partition("=")
                release[key] = value.strip('"')
        distribution = f"{release.get('ID', '')} {release.get('ID_LIKE', '')}".strip()
        return cls(platform.system(), distribution)

    def install_commands(self, missing: Iterable[str]) -> list[list[str]]:
        """The commands that install `missing` ("postgresql", "redis", "chromium") here."""
        words = self.distribution.split()
        packages: dict[str, str | None]
        if self.system == "Darwin":
            packages = {"postgresql": "postgresql@17", "redis": "redis", "chromium": None}
            manager = ["brew", "install"]
        elif "debian" in words or "ubuntu" in words:
            # Ubuntu's chromium package is a snap, which Playwright cannot drive.
            chromium = "chromium" if words[0] == "debian" else None
            packages = {"postgresql": "postgresql", "redis": "redis-server", "chromium": chromium}
            manager = ["sudo", "apt-get", "install", "-y"]
        elif {"fedora", "rhel", "centos"} & set(words):
            packages = {
                "postgresql": "postgresql-server",
                "redis": "valkey",
                "chromium": "chromium",
            }
            manager = ["sudo", "dnf", "install", "-y"]
        else:
            packages = {"postgresql": "postgresql", "redis": "redis", "chromium": None}
            manager = ["<your package manager>", "install"]
        missing = list(missing)
        native = [package for name in missing if (package := packages[name])]
        commands = [manager + native] if native else []
        if "chromium" in missing and not packages["chromium"]:
            commands.append([sys.executable, "-m", "playwright", "install", "chromium"])
        return commands


def find_all() -> tuple[dict[str, str], dict[str, str]]:
    """What was found (name: path) and what was not (name: why) of PostgreSQL, Redis, Chromium."""
    lookups = {"postgresql": lambda: pg_bin("initdb"), "redis": redis_server, "chromium": chromium}
    found, missing = {}, {}
    for name, lookup in lookups.items():
        try:
            found[name] = lookup()
        except NotFound as error:
            missing[name] = str(error)
    return found, missing


def main(argv: list[str] | None = None) -> int:
    """Report the programs; print or (as root, with --install, on Debian) run their install."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--install",
        action="store_true",
        help="as root on Debian or Ubuntu, install what is missing",
    )
    args = parser.parse_args(argv)
    found, missing = find_all()
    for name, path in found.items():
        print(f"{name}: {path}")
    if not missing:
        return 0
    here = Platform.here()
    commands = here.install_commands(missing)
    if args.install and os.geteuid() == 0 and here.system == "Linux" and shutil.which("apt-get"):
        return _install_as_root(commands)
    for name, why in missing.items():
        print(f"{name}: {why}", file=sys.stderr)
    print(
        "Install them with:\n"
        + "".join(f"  {shlex.join(command)}\n" for command in commands)
        + "or name installed ones: PG_BIN=<folder of initdb> (or PG_CONFIG=<pg_config>), "
        "REDIS_SERVER=<redis-server>, CHROMIUM=<chromium or chrome>.",
        file=sys.stderr,
    )
    return 1


def _install_as_root(commands: list[list[str]]) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    for command in commands:
        if command[0] == "sudo":
            command = command[1:]
        else:  # Playwright's own Chromium, with the libraries it needs from apt
            command = [*command[:-1], "--with-deps", command[-1]]
        print(shlex.join(command))
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    _, missing = find_all()
    for name, why in missing.items():
        print(f"{name}: {why} after installing", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
