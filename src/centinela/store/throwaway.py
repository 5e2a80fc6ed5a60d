"""A throwaway PostgreSQL server for tests and benchmarks: Debian's ``postgresql`` package, a cluster in a
temporary folder, on a free loopback port, removed on exit::

    with postgres_cluster() as url:     # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        store = Store(url)
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_bindir() -> str:
    """The newest installed server's bin folder; PostgresUnavailable when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresUnavailable("PostgreSQL server not installed (apt-get install -y postgresql)")
    return os.path.dirname(found[-1])


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a fresh cluster (trust authentication, fsync off: data is thrown away) and yield its URL."""
    bindir = server_bindir()
    root = tempfile.mkdtemp(prefix="centinela-pg-")
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        shutil.chown(root, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(root, "data"), _free_port()
    try:
        subprocess.run([*as_postgres, f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
                       check=True, capture_output=True)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        subprocess.run([*as_postgres, f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", f"{root}/log", "-w",
                        "start"], check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        pid_file = os.path.join(data, "postmaster.pid")
        if os.path.exists(pid_file):
            stopped = subprocess.run([*as_postgres, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                                     capture_output=True, check=False)
            if stopped.returncode != 0 and os.path.exists(pid_file):
                # pg_ctl gave up (a very busy machine): end this cluster's postmaster by its own pid.
                with open(pid_file) as f, contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(f.readline()), signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
