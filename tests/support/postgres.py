"""A real, throw-away PostgreSQL server for tests (no mocks, no docker).

The ``postgres_server`` fixture (session scope) finds the server binaries of the Debian
package ``postgresql`` (``/usr/lib/postgresql/<version>/bin``; ``python3.11 dwh.py test``
installs the package), runs ``initdb`` on a fresh temp folder with trust authentication,
starts the server with ``pg_ctl`` on a free port of 127.0.0.1 (socket in the same folder),
creates the database, and at teardown stops that server with its own ``pg_ctl`` and removes
the folder. initdb refuses to run as root, so under root the server commands run as the
``postgres`` system user, which owns the folder.

A test session killed before its teardown would leave its server running: every server
folder records the pid of the pytest process that owns it (``owner.pid``), and starting a
server first stops (with their own ``pg_ctl``) and removes the servers of owners that no
longer exist.

Use it in a test module with ``from support.postgres import postgres_server  # noqa: F401``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DATABASE = "dwh"
SUPERUSER = "postgres"


def find_pg_bin() -> Path | None:
    """Folder with initdb and pg_ctl: the newest /usr/lib/postgresql/<v>/bin, else PATH."""
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if (p / "bin" / "initdb").exists() and (p / "bin" / "pg_ctl").exists()),
                          key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)] or [0], reverse=True)
        if versions:
            return versions[0] / "bin"
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").exists():
        return Path(found).parent
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    base_dir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    database: str = DATABASE

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def connect(self, database: str | None = None):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=database or self.database)

    def dbt_env(self) -> dict[str, str]:
        """Environment read by the ``postgres`` target of dbt_project/profiles.yml."""
        return {"DWH_PG_HOST": self.host, "DWH_PG_PORT": str(self.port), "DWH_PG_USER": self.user,
                "DWH_PG_PASSWORD": "", "DWH_PG_DATABASE": self.database}

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-n:]
        except OSError:
            return "(no server log)"


def _as_server_user() -> dict:
    """subprocess keyword arguments that run a command as the postgres user when we are root."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam("postgres")
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _run(server_user: dict, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"LC_ALL": "C", "LANG": "C"})
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd="/", **server_user, **kw)


FOLDER_PREFIX = "dwh-pg-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans(bin_dir: Path) -> list[Path]:
    """Stop and remove the servers this fixture started in test sessions that died before
    their teardown (owner.pid names a process that no longer exists)."""
    reaped = []
    for base in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            owner = int((base / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            continue  # not (yet) a folder of this fixture
        if _alive(owner):
            continue
        stop_server(PostgresServer(bin_dir=bin_dir, base_dir=base, port=0))
        reaped.append(base)
    return reaped


def start_server() -> PostgresServer:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL server binaries not found (Debian package `postgresql`): "
                    "`python3.11 dwh.py test` installs it, or run `apt-get install -y postgresql`.")
    server_user = _as_server_user()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root but there is no `postgres` system user to run initdb as")
    reap_orphans(bin_dir)
    base = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    (base / "owner.pid").write_text(str(os.getpid()))
    if server_user:
        os.chown(base, server_user["user"], server_user["group"])
    server = PostgresServer(bin_dir=bin_dir, base_dir=base, port=free_port())
    init = _run(server_user, [str(bin_dir / "initdb"), "-D", str(server.data_dir), "-U", SUPERUSER,
                              "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    options = (f"-h {server.host} -p {server.port} -k {base} -F "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=30")
    start = _run(server_user, [str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-l", str(server.log_file),
                               "-o", options, "-w", "-t", "60", "start"])
    if start.returncode != 0:
        log = server.log_tail()
        stop_server(server)
        pytest.fail(f"pg_ctl start failed:\n{start.stdout}\n{start.stderr}\n{log}")
    con = server.connect("postgres")
    try:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{server.database}"')
    finally:
        con.close()
    return server


def stop_server(server: PostgresServer) -> None:
    """Stop the server with its own pg_ctl (fast shutdown) and remove its folder."""
    try:
        if (server.data_dir / "postmaster.pid").exists():
            _run(_as_server_user(), [str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir),
                                     "-m", "fast", "-w", "-t", "60", "stop"])
    finally:
        shutil.rmtree(server.base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_server()
    try:
        yield server
    finally:
        stop_server(server)
