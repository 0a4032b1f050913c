"""A real, throw-away PostgreSQL server for tests and benchmarks.

``initdb`` refuses to run as root, so under root the server runs as the ``postgres`` system user
(created by the Debian ``postgresql`` package) with its data folder, socket folder and log in a
temporary folder that user owns. It listens on a free loopback port with password (SCRAM)
authentication, so URLs carry a real password, and is stopped and deleted by :meth:`stop`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_pg_bin", "unavailable_reason"]

PASSWORD = "Sk-pw-4f9e2c71"  # distinctive, so tests can grep every output for it
USER = "synthkit"


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb``/``pg_ctl``: $SYNTHKIT_PG_BIN, Debian's layout, or PATH."""
    candidates = [os.environ.get("SYNTHKIT_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    which = shutil.which("pg_ctl")
    candidates.append(str(Path(which).parent) if which else "")
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def unavailable_reason() -> str | None:
    """Why no server can be started here (None when one can)."""
    if find_pg_bin() is None:
        return "no PostgreSQL server binaries (initdb/pg_ctl); `make test` installs the Debian 'postgresql' package as root"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root without `runuser` to drop to the 'postgres' user"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """``start()`` → ``url(...)`` → ``stop()``; one cluster in a temporary folder."""

    def __init__(self, password: str = PASSWORD) -> None:
        self.password = password
        self.bin = find_pg_bin()
        self.root: Path | None = None
        self.port = 0

    def _cmd(self, *args: str) -> None:
        proc = subprocess.run([*_run_as(), *args], capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            log = self.root / "server.log" if self.root else None
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}\n{tail}")

    def start(self) -> PostgresServer:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        assert self.bin is not None
        self.root = Path(tempfile.mkdtemp(prefix="synthkit-pg-"))
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        data, sock = self.root / "data", self.root / "sock"
        self._cmd(str(self.bin / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(pwfile), "-E", "UTF8",
                  "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
        self._cmd("mkdir", "-p", str(sock))
        self.port = _free_port()
        opts = f"-p {self.port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._cmd(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"), "-o", opts, "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg", password: bool = True) -> str:
        """SQLAlchemy URL of ``database`` on this server (with the password unless told otherwise)."""
        auth = f"{USER}:{self.password}" if password else USER
        return f"{driver}://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh empty database; returns its URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=self.password, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once and delete its folder."""
        if self.root is None:
            return
        if self.bin is not None and (self.root / "data" / "postmaster.pid").exists():
            try:
                self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
