"""A PostgreSQL cluster of the benchmark's own (initdb into a temporary directory, a port of its own),
which it may crash and start again without touching any server someone else uses."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from launch.processes import HOST, free_port

# PostgreSQL refuses to run as root; as root the cluster belongs to this account instead.
SERVICE_ACCOUNT = "postgres"
START_SECONDS = 60


def pg_binary(name: str) -> str:
    """initdb or pg_ctl: from PATH, else from the newest Debian/Ubuntu installation."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise SystemExit(f"{name} not found: install PostgreSQL's server binaries")
    return found


class PrivateCluster:
    """initdb'd on create(); crash() is `pg_ctl stop -m immediate` (no checkpoint, recovery at start)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.data = root / "data"
        self.log_file = root / "postgres.log"

    @classmethod
    def create(cls) -> PrivateCluster:
        root = Path(tempfile.mkdtemp(prefix="chaos-postgres-"))
        cluster = cls(root, free_port())
        if os.geteuid() == 0:
            shutil.chown(root, SERVICE_ACCOUNT, SERVICE_ACCOUNT)
        cluster._run([pg_binary("initdb"), "-D", str(cluster.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"])
        cluster.start()
        return cluster

    @property
    def url(self) -> str:
        """The base URL create_database takes."""
        return f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"

    @property
    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> None:
        """Start and wait until it accepts connections (after crash recovery, if it crashed)."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses={HOST}"
        self._pg_ctl("start", "-w", "-t", str(START_SECONDS), "-l", str(self.log_file), "-o", options)

    def crash(self) -> None:
        """Every server process exits at once, as if killed: no shutdown checkpoint."""
        self._pg_ctl("stop", "-m", "immediate", "-w")

    def destroy(self) -> None:
        """Stop it (if running) and remove its directory."""
        if self.postmaster_pid is not None:
            self._pg_ctl("stop", "-m", "fast", "-w", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        self._run([pg_binary("pg_ctl"), "-D", str(self.data), *args], check=check)

    def _run(self, argv: Sequence[str], check: bool = True) -> None:
        if os.geteuid() == 0:
            argv = ["runuser", "-u", SERVICE_ACCOUNT, "--", *argv]
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.root, text=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip()}")
