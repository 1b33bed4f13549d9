"""A pytest plugin that starts throwaway PostgreSQL and Redis servers for the test session.

Loaded with `-p tests.servers` (see pyproject.toml) so that it runs before pytest-django reads
the settings: the servers live in a temporary directory on free loopback ports, and
DATABASE_URL / CELERY_BROKER_URL point at them. Set BALLAST_TEST_USE_ENV=true to test against
servers you started yourself (DATABASE_URL and CELERY_BROKER_URL taken as they are). The programs
are found by tests/programs.py (PG_BIN, PG_CONFIG and REDIS_SERVER name them; else PATH and the
usual places).

PostgreSQL refuses to run as root, so as root the data directory belongs to the `postgres` user
that Debian's package creates, and initdb / pg_ctl run through runuser.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.programs import NotFound, pg_bin, redis_server


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Servers:
    """The running servers and how to stop them."""

    root: Path
    pg_data: Path
    pg_port: int
    redis_port: int
    as_postgres: list[str] = field(default_factory=list)
    redis: subprocess.Popen | None = None

    @property
    def database_url(self) -> str:
        """The URL of the session's PostgreSQL database."""
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/ballast"

    @property
    def broker_url(self) -> str:
        """The URL of the session's Redis, database 0."""
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def stop(self) -> None:
        """Stop both servers and remove their files."""
        if self.redis:
            self.redis.terminate()
            self.redis.wait(timeout=10)
        subprocess.run(
            [
                *self.as_postgres,
                pg_bin("pg_ctl"),
                "-D",
                str(self.pg_data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_servers() -> Servers:
    """Start PostgreSQL and Redis in a new temporary directory."""
    root = Path(tempfile.mkdtemp(prefix="ballast-test-"))
    os.chmod(root, 0o755)
    servers = Servers(root=root, pg_data=root / "pg", pg_port=free_port(), redis_port=free_port())
    if os.geteuid() == 0:
        servers.as_postgres = ["runuser", "-u", "postgres", "--"]
    _start_postgres(servers)
    _start_redis(servers)
    return servers


def _start_postgres(servers: Servers) -> None:
    socket_dir = servers.root / "pg-socket"
    for folder in (servers.pg_data, socket_dir):
        folder.mkdir()
        if servers.as_postgres:
            shutil.chown(folder, "postgres", "postgres")
    run = [*servers.as_postgres]
    subprocess.run(
        [
            *run,
            pg_bin("initdb"),
            "-D",
            str(servers.pg_data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {servers.pg_port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
    )
    subprocess.run(
        [
            *run,
            pg_bin("pg_ctl"),
            "-D",
            str(servers.pg_data),
            "-o",
            options,
            "-w",
            "-l",
            str(servers.pg_data / "server.log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )


def _start_redis(servers: Servers) -> None:
    servers.redis = start_redis(servers.redis_port, servers.root)


def start_redis(port: int, folder: Path) -> subprocess.Popen:
    """`redis-server` without persistence in `folder` on loopback `port`, once it answers PING."""
    process = subprocess.Popen(
        [
            *(redis_server(), "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(folder)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError(f"redis-server did not answer on port {port}")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """Start the servers and point the settings at them before Django is set up."""
    os.environ.setdefault("BALLAST_SECRET_KEY", "test-only-" + os.urandom(16).hex())
    # Plans replay each candidate over this much history (24 h in production): the same code,
    # a shorter window, so that the suite's many plans stay quick.
    os.environ.setdefault("BALLAST_PLAN_REPLAY_HOURS", "3")
    if os.environ.get("BALLAST_TEST_USE_ENV") == "true":
        return
    try:
        servers = start_servers()
    except NotFound as error:
        raise pytest.UsageError(
            f"{error}; `python -m tests.programs` says how to install it"
        ) from None
    early_config.stash[SERVERS] = servers
    os.environ["DATABASE_URL"] = servers.database_url
    os.environ["CELERY_BROKER_URL"] = servers.broker_url
    os.environ["BALLAST_VAR_DIR"] = str(servers.root / "var")
    (servers.root / "var" / "static").mkdir(parents=True)


def pytest_unconfigure(config):
    """Stop the servers at the end of the session."""
    servers = config.stash.get(SERVERS, None)
    if servers is not None:
        servers.stop()


SERVERS = pytest.StashKey[Servers]()
