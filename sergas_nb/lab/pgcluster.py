"""A throwaway PostgreSQL cluster from the machine's own binaries (tests and ``make demo``).

PostgreSQL refuses to run as root, so as root every server binary runs through
``runuser -u postgres --`` with the data directory owned by ``postgres``; as any other user the
binaries run directly. The server listens on 127.0.0.1 only, on a free port, with no Unix socket
(a deep folder would make its path too long).

Every other local account can reach that port, so connections need a password (scram-sha-256,
for 127.0.0.1 and ::1 only): a random one, made at the first start, kept in ``password`` (mode
0600) beside the data folder. As root the file belongs to ``postgres`` (initdb reads it), which
root can still read. :attr:`ThrowawayPostgres.dsn` carries it as ``?password=``; :attr:`label`
never does. A cluster made by an older version, which trusted every local connection, is made
again from scratch (it is throwaway): its journal is lost, never left open.

A second ``start()`` on an existing data directory reuses it (no initdb); a ``postmaster.pid``
left behind by a killed server is removed; a server still running from an earlier run is adopted.

:func:`for_work_dir` picks the folder of the demo's cluster: inside the work folder, unless the
``postgres`` user cannot enter it (root in a 0700 home): then in a private folder under a
root-owned base in the temporary directory, named after the work folder so a second run reuses it.

``python -m sergas_nb.lab.pgcluster start|stop|remove WORK_DIR`` does the same from a shell
(``start`` prints the DSN, password included, for ``export DATABASE_URL=$(...)``).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import logging
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from sergas_nb import _secrets
from sergas_nb.errors import ZohoDatabaseError

log = logging.getLogger(__name__)


class PostgresBinariesNotFound(ZohoDatabaseError):
    """initdb / pg_ctl are not installed."""


SERVER_USER = "postgres"  # the account the server runs as when we are root
PASSWORD_FILE = "password"  # beside data/, in the cluster's own folder
# Password logins on loopback TCP only: the server has no Unix socket and listens nowhere else.
PG_HBA = """# Written by sergas_nb.lab.pgcluster: password (scram-sha-256) logins on loopback only.
host    all    all    127.0.0.1/32    scram-sha-256
host    all    all    ::1/128         scram-sha-256
"""


def find_pg_bin() -> Path:
    """Folder holding initdb and pg_ctl: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb") if os.access(p, os.X_OK)]
    if found:

        def version(p: Path) -> tuple[int, ...]:
            try:
                return tuple(int(x) for x in p.parent.name.split("."))
            except ValueError:
                return (0,)

        return max(found, key=version)
    raise PostgresBinariesNotFound(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or in "
        "/usr/lib/postgresql/*/bin. Install the Debian package 'postgresql' "
        "(apt-get install -y postgresql), or set DATABASE_URL to an existing PostgreSQL server."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayPostgres:
    """``with ThrowawayPostgres(dir) as pg: pg.dsn`` - a local cluster under ``dir``.

    ``fast=True`` turns off fsync and synchronous commit: fine for throwaway data, much quicker.
    """

    def __init__(
        self, root_dir: str | os.PathLike[str], port: int | None = None, *, fast: bool = True, start_timeout: int = 60
    ) -> None:
        self.root_dir = Path(root_dir).resolve()
        self.data_dir = self.root_dir / "data"
        self.log_file = self.root_dir / "postgres.log"
        self.password_file = self.root_dir / PASSWORD_FILE
        self.port = port
        self.fast = fast
        self.start_timeout = start_timeout
        self.user = SERVER_USER
        self._as_root = os.geteuid() == 0
        self._bin: Path | None = None
        self.adopted = False  # True when start() found a server of an earlier run still up
        self.recreated = False  # True when start() replaced a cluster that trusted local connections
        self._password: str | None = None

    # -- public -------------------------------------------------------------------------------
    @property
    def dsn(self) -> str:
        """The ``postgres`` database's URL, password included: hand it over, never print it."""
        return self.dsn_for("postgres")

    @property
    def label(self) -> str:
        """``127.0.0.1:PORT (data in DIR)`` for messages: never the password."""
        return f"127.0.0.1:{self.port} (data in {self.data_dir})"

    def dsn_for(self, dbname: str) -> str:
        if self.port is None or self._password is None:
            raise RuntimeError("ThrowawayPostgres is not started")
        # As a query parameter (libpq takes any keyword there): the URL keeps its user@host form.
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}?password={quote(self._password, safe='')}"

    def start(self) -> ThrowawayPostgres:
        self._bin = find_pg_bin()
        self._prepare_dirs()
        if (self.data_dir / "PG_VERSION").exists() and not self._has_password_auth():
            self._recreate_trusting_cluster()
        self._password = self._ensure_password()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        running_port = self._running_port()
        if running_port is not None:
            self.port, self.adopted = running_port, True
            return self
        self._remove_stale_pid()
        if self.port is None:
            self.port = free_port()
        opts = ["-c listen_addresses=127.0.0.1", f"-p {self.port}", "-k ''"]
        if self.fast:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        deadline = time.monotonic() + 15
        while True:
            try:
                self._run(
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    str(self.start_timeout),
                    "-o",
                    " ".join(opts),
                    "start",
                    what="start PostgreSQL",
                )
                return self
            except ZohoDatabaseError as exc:
                # Backends of a killed server hold its shared memory for a moment after it died.
                if "still in use" not in str(exc) or time.monotonic() > deadline:
                    raise
                self._remove_stale_pid()
                time.sleep(0.5)

    def stop(self) -> None:
        """Stop the server of this data folder, if one runs (also one a previous process started)."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        self._bin = self._bin or find_pg_bin()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-m",
            "fast",
            "-w",
            "-t",
            "30",
            "stop",
            what="stop PostgreSQL",
            check=False,
        )

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------
    def _cmd(self, name: str, *args: str) -> list[str]:
        assert self._bin is not None
        exe = [str(self._bin / name), *args]
        return ["runuser", "-u", self.user, "--", *exe] if self._as_root else exe

    def _run(self, name: str, *args: str, what: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        proc = subprocess.run(
            self._cmd(name, *args),
            capture_output=True,
            text=True,
            env=env,
            cwd=str(self.root_dir),
            timeout=self.start_timeout + 30,
        )
        if check and proc.returncode != 0:
            tail = ""
            if self.log_file.exists():
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-10:])
            raise ZohoDatabaseError(
                f"Could not {what} in {self.data_dir} (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()}\n{tail}".strip()
            )
        return proc

    def _prepare_dirs(self) -> None:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        if not self._as_root:
            return
        pw = server_account()
        blocked = blocked_folder(self.root_dir.parent, pw)
        if blocked is not None:
            mode = oct(blocked.stat().st_mode & 0o777)
            raise ZohoDatabaseError(
                f"The '{pw.pw_name}' user cannot enter {blocked} (mode {mode}); put the throwaway cluster "
                f"elsewhere (for_work_dir does) or run: chmod o+x {blocked}"
            )
        # The server's own folder: the postgres user's alone.
        os.chown(self.root_dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root_dir, 0o700)
        for p in self.root_dir.rglob("*"):  # an earlier run as another user may have left files
            if p.lstat().st_uid != pw.pw_uid:
                os.chown(p, pw.pw_uid, pw.pw_gid, follow_symlinks=False)

    def _own(self, path: Path) -> None:
        """As root, hand ``path`` to the server's account (it reads the password file, owns pg_hba)."""
        if self._as_root:
            pw = server_account()
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _ensure_password(self) -> str:
        """The cluster's password: read from its 0600 file, or made (and written) at the first start."""
        # O_NOFOLLOW: as root, a link planted in the server's folder must not make us read or chmod its target.
        try:
            fd = os.open(self.password_file, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            password = ""
        except OSError as exc:
            raise ZohoDatabaseError(
                f"{self.password_file} is not a plain file ({exc.strerror}); remove {self.root_dir} and try again"
            ) from None
        else:
            with os.fdopen(fd, encoding="ascii") as fh:
                os.fchmod(fh.fileno(), 0o600)
                password = fh.read().strip()
        if not password:
            password = secrets.token_urlsafe(32)
            self.password_file.unlink(missing_ok=True)
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(password + "\n")
            self._own(self.password_file)
        _secrets.register(password)
        return password

    def _has_password_auth(self) -> bool:
        """False for a data folder an older version made (trust auth) or that lost its password file."""
        if not self.password_file.exists():
            return False
        try:
            lines = (self.data_dir / "pg_hba.conf").read_text().splitlines()
        except OSError:
            return False
        rules = [line.split("#", 1)[0].split() for line in lines]
        return all(r[-1] == "scram-sha-256" for r in rules if r) and any(rules)

    def _recreate_trusting_cluster(self) -> None:
        log.warning(
            "The throwaway PostgreSQL in %s was made by an older sergas-nb and lets every local user in "
            "without a password; removing it and making a new one with password authentication "
            "(its data, the demo's tokens and journal, is not kept)",
            self.data_dir,
        )
        self.stop()
        lines = self._pid_file_lines()
        if lines and lines[0].isdigit() and _is_live_postgres(int(lines[0])):
            raise ZohoDatabaseError(
                f"The PostgreSQL server on {self.data_dir} trusts every local user and could not be stopped; "
                f"stop it (pg_ctl -D {self.data_dir} stop), remove {self.root_dir} and try again"
            )
        shutil.rmtree(self.data_dir)
        self.password_file.unlink(missing_ok=True)
        self.recreated = True

    def _initdb(self) -> None:
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ZohoDatabaseError(f"{self.data_dir} exists but is not a PostgreSQL data directory; remove it")
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=scram-sha-256",
            f"--pwfile={self.password_file}",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            what="create a PostgreSQL cluster (initdb)",
        )
        hba = self.data_dir / "pg_hba.conf"
        fd = os.open(hba, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)  # initdb made it; replace its rules
        with os.fdopen(fd, "w") as fh:
            fh.write(PG_HBA)
            os.fchmod(fh.fileno(), 0o600)

    def _pid_file_lines(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def _running_port(self) -> int | None:
        """Port of a server already running on this data dir (from an earlier run), if any."""
        lines = self._pid_file_lines()
        if len(lines) < 4:
            return None
        try:
            pid, port = int(lines[0]), int(lines[3])
        except ValueError:
            return None
        if not _is_live_postgres(pid):
            return None  # stale postmaster.pid: removed by the caller
        # A live server: adopt it if it answers where we would have put it.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return port
            except OSError:
                time.sleep(0.1)
        raise ZohoDatabaseError(
            f"A PostgreSQL server runs on {self.data_dir} but does not answer on 127.0.0.1:{port}; "
            f"stop it (pg_ctl -D {self.data_dir} stop) and try again"
        )

    def _remove_stale_pid(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            # No live postmaster owns it: left behind by a killed server or an earlier boot.
            pid_file.unlink()


def server_account() -> pwd.struct_passwd:
    """The account the server runs as when we are root (PostgreSQL refuses to run as root)."""
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise ZohoDatabaseError(
            f"PostgreSQL refuses to run as root and there is no '{SERVER_USER}' user to run it as; "
            "install the Debian package 'postgresql' (apt-get install -y postgresql, it creates the user) "
            "or run as an ordinary user"
        ) from None


def blocked_folder(folder: Path, account: pwd.struct_passwd) -> Path | None:
    """The first of ``folder`` and its parents that ``account`` may not enter, or None."""
    groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
    for f in [folder, *folder.parents]:
        st = f.stat()
        if st.st_uid == account.pw_uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid in groups:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            return f
    return None


RUNTIME_BASE_NAME = "sergas-nb-pg"  # root's throwaway clusters, when the work folder is out of reach


def runtime_base() -> Path:
    """A root-owned folder (0711) in the temporary directory for relocated clusters.

    The postgres user may pass through it but not list it; nobody else can create entries in it.
    A folder of that name that someone else made (or a symlink) is refused, never used.
    """
    base = Path(tempfile.gettempdir()) / RUNTIME_BASE_NAME
    try:
        base.mkdir(mode=0o711)
    except FileExistsError:
        pass
    st = base.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise ZohoDatabaseError(
            f"{base} is not a folder of this user writable by it alone; remove it and try again, "
            "or set DATABASE_URL to a PostgreSQL server"
        )
    os.chmod(base, 0o711)
    return base


def cluster_dir_for(work_dir: str | os.PathLike[str]) -> Path:
    """Where the throwaway cluster of ``work_dir`` lives: ``work_dir/pg`` when the server can reach it.

    As root, the server runs as ``postgres``, which cannot enter a 0700 home (``/root``, any
    ``mktemp -d``): the cluster then lives in ``runtime_base()/<hash of work_dir>``, the same folder
    on every run from that work folder.
    """
    work = Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or blocked_folder(work, server_account()) is None:
        return work / "pg"
    return runtime_base() / hashlib.sha256(str(work).encode()).hexdigest()[:16]


def for_work_dir(work_dir: str | os.PathLike[str], **kwargs: Any) -> ThrowawayPostgres:
    """The (not yet started) throwaway cluster of ``work_dir``; see :func:`cluster_dir_for`."""
    return ThrowawayPostgres(cluster_dir_for(work_dir), **kwargs)


def _is_live_postgres(pid: int) -> bool:
    """True when ``pid`` is a running (not zombie) postgres process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        try:
            os.kill(pid, 0)  # no /proc (not Linux): existence is the best we can check
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and comm.startswith("postgres")


def main(argv: list[str] | None = None) -> int:
    """``python -m sergas_nb.lab.pgcluster start|stop|remove WORK_DIR``."""
    p = argparse.ArgumentParser(prog="python -m sergas_nb.lab.pgcluster", description=main.__doc__)
    p.add_argument("action", choices=("start", "stop", "remove"))
    p.add_argument("work_dir", help="the work folder, e.g. .sergas-nb (the demo's)")
    args = p.parse_args(argv)
    try:
        pg = for_work_dir(args.work_dir)
        if args.action == "start":
            pg.start()
            print(pg.dsn)
            return 0
        pg.stop()
        if args.action == "remove":
            shutil.rmtree(pg.root_dir, ignore_errors=True)
        return 0
    except ZohoDatabaseError as exc:
        print(f"pgcluster {args.action}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
