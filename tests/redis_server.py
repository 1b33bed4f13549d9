"""A Redis server of a test's own, on a free loopback port, that the test may stop and start again.

The session's Redis (tests/servers.py) serves every test; a test of what happens when the broker
goes away stops this one instead.
"""

import subprocess
from pathlib import Path

from tests.servers import free_port, start_redis


class RedisServer:
    """`redis-server` without persistence, in `folder`, on one port for its whole life."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The broker URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self.process = start_redis(self.port, self.folder)

    def stop(self) -> None:
        """Stop the server (the port stays this server's, for `start` again)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
