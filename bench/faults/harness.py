"""The shared harness of the fault scripts (issue 8, "Faults").

Each script gets its own throwaway stack, never the machine's shared services:

* a PostgreSQL 15 cluster made with ``initdb`` in a temporary folder, listening on 127.0.0.1:5544
  (``FAULTS_PG_PORT``) with its socket in that folder, trust authentication, run as the ``postgres``
  user when the script runs as root;
* a Redis on 127.0.0.1:6380 (``FAULTS_REDIS_PORT``) with no persistence, daemonized with its pidfile in
  the folder;
* gunicorn (``deploy/gunicorn.conf.py``), Celery workers and beats started as the deployment starts them,
  with ``DJANGO_DEBUG=0``, ``DJANGO_HTTPS=0``, a random secret key and the file-based (optionally slow)
  e-mail backend, so every e-mail sent is a file that can be counted.

Everything runs on loopback addresses. The stack is torn down on exit, on an exception, on SIGTERM/SIGINT
and when the script's time limit (SIGALRM) expires; the logs are kept in ``bench/out/faults/<name>/``.
Every process the harness starts is listed in ``<tmp>/pids`` so ``run_all.sh`` can clean up after a
script that was killed outright.
"""

from __future__ import annotations

import email
import email.header
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
OUT = ROOT / "bench" / "out" / "faults"
PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5544"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6380"))
HOST = "127.0.0.1"
PASSWORD = "Faults-" + secrets.token_urlsafe(12)
# A request slower than this counts as hung (gunicorn's own timeout is 30 s; the app's
# Redis and PostgreSQL connect timeouts are 2 s and 5 s).
HANG_LIMIT_SECONDS = 10.0

sys.path.insert(0, str(ROOT))


class TimeLimit(Exception):
    pass


_STARTED = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {msg}", flush=True)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.5, what: str = "condition") -> float:
    """Poll ``predicate`` until true; returns the seconds waited. Bounded by ``timeout``."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


# --- processes ----------------------------------------------------------------------------------


class Proc:
    """A child in its own process group, logging to a file."""

    def __init__(self, stack: Stack, name: str, argv: list[str], *, env: dict | None = None):
        self.name = name
        self.logpath = stack.tmp / f"{name}.log"
        self.logfile = open(self.logpath, "ab")
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**stack.env, **(env or {})},
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        with open(stack.tmp / "pids", "a") as pids:
            pids.write(f"{self.pid}\n")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        return self.logpath.read_text(errors="replace")

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def children(self) -> list[int]:
        try:
            out = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True, text=True, timeout=5).stdout
        except subprocess.TimeoutExpired:
            return []
        return [int(p) for p in out.split()]

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self.signal_group(signal.SIGCONT)
            self.signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(timeout=10)
        self.signal_group(signal.SIGKILL)  # stragglers of the group (pool children)
        self.logfile.close()


# --- the stack ------------------------------------------------------------------------------------


class Stack:
    """Own PostgreSQL + Redis + app processes for one fault script; a context manager."""

    def __init__(self, name: str, *, time_limit: int, email_delay: float = 0.0):
        self.name = name
        self.time_limit = time_limit
        self.email_delay = email_delay
        self.procs: list[Proc] = []
        self.tmp: Path | None = None
        self.pg_started = False
        self.redis_started = False
        self.keep_pgdata_in: str | None = None
        self.from_template = False

    # lifecycle

    def __enter__(self) -> Stack:
        def on_alarm(signum, frame):
            raise TimeLimit(f"{self.name}: time limit of {self.time_limit} s reached")

        def on_term(signum, frame):
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGALRM, on_alarm)
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.alarm(self.time_limit)
        for port in (PG_PORT, REDIS_PORT):
            if port_in_use(port):
                raise RuntimeError(f"port {port} is in use: another fault run (or a leftover) holds it")
        self.tmp = Path(tempfile.mkdtemp(prefix=f"sd-faults-{self.name}-"))
        self.tmp.chmod(0o755)
        try:
            self._start_postgres()
            self._start_redis()
            self._configure()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc) -> None:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception as err:
                log(f"stopping {proc.name}: {err}")
        if self.redis_started:
            self.redis_stop(hard=True)
        if self.pg_started:
            self._pg_ctl("stop", "-m", "fast" if self.keep_pgdata_in else "immediate", check=False)
        if self.keep_pgdata_in and not any(exc):
            shutil.move(str(self.pgdata), self.keep_pgdata_in)
        if self.tmp and self.tmp.exists():
            keep = OUT / self.name
            shutil.rmtree(keep, ignore_errors=True)
            keep.mkdir(parents=True, exist_ok=True)
            for logfile in self.tmp.glob("*.log"):
                shutil.copy(logfile, keep / logfile.name)
            shutil.rmtree(self.tmp, ignore_errors=True)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    # PostgreSQL

    def _as_postgres(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = self._as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.tmp / "postgres.log"), *args]
        )
        return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=90)

    def _start_postgres(self) -> None:
        self.pgdata = self.tmp / "pgdata"
        self.pgsock = self.tmp / "pgsock"
        self.pgsock.mkdir()
        template = os.environ.get("FAULTS_PGDATA_TEMPLATE")
        self.from_template = bool(template and Path(template).is_dir())
        if self.from_template:  # a migrated cluster that run_all.sh made once: copied, still throwaway
            subprocess.run(["cp", "-a", template, str(self.pgdata)], check=True, timeout=120)
        else:
            self.pgdata.mkdir()
        (self.tmp / "postgres.log").touch()
        if os.geteuid() == 0:
            for path in (self.pgdata, self.pgsock, self.tmp / "postgres.log"):
                subprocess.run(["chown", "-R", "postgres:postgres", str(path)], check=True, timeout=60)
        if self.from_template:
            self._pg_start()
            log(f"PostgreSQL 15 on {HOST}:{PG_PORT} (a copy of the migrated template)")
            return
        subprocess.run(
            self._as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        self._pg_start()
        subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-h",
                HOST,
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "-qc",
                "create database servicedesk",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        log(f"PostgreSQL 15 on {HOST}:{PG_PORT} (data in {self.pgdata})")

    def _pg_start(self) -> None:
        options = (
            f"-p {PG_PORT} -k {self.pgsock} -c listen_addresses={HOST} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self.pg_started = True
        self._pg_ctl("start", "-w", "-t", "60", "-o", options)

    def pg_restart(self) -> float:
        """``pg_ctl restart -m fast``; returns the seconds it took."""
        started = time.monotonic()
        self._pg_ctl("restart", "-m", "fast", "-w", "-t", "60")
        return time.monotonic() - started

    # Redis

    def _start_redis(self) -> None:
        self.redis_pidfile = self.tmp / "redis.pid"
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                str(self.redis_pidfile),
                "--dir",
                str(self.tmp),
                "--logfile",
                str(self.tmp / "redis.log"),
            ],
            check=True,
            timeout=30,
        )
        self.redis_started = True
        wait_until(lambda: self.redis_pid() is not None and self.redis_ping(), timeout=20, what="Redis up")
        log(f"Redis on {HOST}:{REDIS_PORT} (pid {self.redis_pid()})")

    def redis_pid(self) -> int | None:
        try:
            return int(self.redis_pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def redis_ping(self) -> bool:
        try:
            out = subprocess.run(
                ["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "ping"], capture_output=True, text=True, timeout=3
            )
        except subprocess.TimeoutExpired:
            return False
        return out.stdout.strip() == "PONG"

    def redis_stop(self, *, hard: bool = False) -> None:
        """Stop our Redis (SIGTERM to the pid in our pidfile; SIGKILL if it does not go)."""
        pid = self.redis_pid()
        if pid is None:
            return
        for sig in (signal.SIGCONT, signal.SIGKILL if hard else signal.SIGTERM):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
        try:
            wait_until(lambda: not _pid_alive(pid), timeout=15, interval=0.2, what="Redis stopped")
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
        self.redis_pidfile.unlink(missing_ok=True)

    def redis_start(self) -> None:
        self._start_redis()

    def redis_pause(self) -> None:
        os.kill(self.redis_pid(), signal.SIGSTOP)

    def redis_resume(self) -> None:
        os.kill(self.redis_pid(), signal.SIGCONT)

    # Django

    def _configure(self) -> None:
        mail = self.tmp / "mail"
        mail.mkdir()
        static_root = os.environ.get("FAULTS_STATIC_ROOT") or str(self.tmp / "static")
        self.mail_dir = mail
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
            "DATABASE_URL": f"postgres://postgres@{HOST}:{PG_PORT}/servicedesk",
            "REDIS_URL": f"redis://{HOST}:{REDIS_PORT}/0",
            "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
            "DJANGO_LANGUAGE_CODE": "en",
            "DJANGO_STATIC_ROOT": static_root,
            "DJANGO_EMAIL_BACKEND": "bench.faults.slow_email.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(mail),
            "DJANGO_LOG_LEVEL": "WARNING",
            "FAULTS_EMAIL_DELAY": str(self.email_delay),
            "SERVICEDESK_VAR_DIR": str(self.tmp / "var"),
            "SERVICEDESK_BASE_URL": f"http://{HOST}",
            "PYTHONPATH": str(ROOT),
            "PGCONNECT_TIMEOUT": "5",
        }
        os.environ.clear()
        os.environ.update(self.env)
        started = time.monotonic()
        if not self.from_template:
            self.manage("migrate", "--noinput", "-v", "0")
        if not (Path(static_root) / "staticfiles.json").exists():
            self.manage("collectstatic", "--noinput", "-v", "0")
        import django

        django.setup()
        log(f"database and static files ready in {time.monotonic() - started:.1f} s")

    def manage(self, *argv: str) -> None:
        subprocess.run([str(VENV_BIN / "python"), "manage.py", *argv], cwd=ROOT, env=self.env, check=True, timeout=600)

    # app processes

    def start(self, name: str, argv: list[str], *, env: dict | None = None) -> Proc:
        proc = Proc(self, name, argv, env=env)
        self.procs.append(proc)
        return proc

    def gunicorn(self, *, workers: int = 2, threads: int = 2) -> tuple[Proc, int]:
        port = free_port()
        proc = self.start(
            "gunicorn",
            [str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "servicedesk.wsgi:application"],
            env={
                "GUNICORN_BIND": f"{HOST}:{port}",
                "GUNICORN_WORKERS": str(workers),
                "GUNICORN_THREADS": str(threads),
                "GUNICORN_TIMEOUT": "30",
            },
        )

        def answers():
            if not proc.alive():
                raise RuntimeError(f"gunicorn exited:\n{proc.text()[-2000:]}")
            try:
                return Session(port).request("GET", "/healthz")[0] == 200
            except OSError:
                return False

        wait_until(answers, timeout=60, interval=0.3, what="gunicorn answering /healthz")
        log(f"gunicorn on {HOST}:{port} ({workers} workers x {threads} threads, timeout 30 s)")
        return proc, port

    def worker(self, name: str = "worker", *, concurrency: int = 2, env: dict | None = None) -> Proc:
        proc = self.start(
            name,
            [
                str(VENV_BIN / "celery"),
                "-A",
                "servicedesk",
                "worker",
                "-l",
                "info",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-n",
                f"{name}-{secrets.token_hex(3)}@faults",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
        )
        wait_until(lambda: "ready." in proc.text() or not proc.alive(), timeout=90, what=f"{name} ready")
        if not proc.alive():
            raise RuntimeError(f"{name} exited:\n{proc.text()[-2000:]}")
        log(f"{name} ready (pid {proc.pid}, prefork x {concurrency})")
        return proc

    def beat(self, name: str = "beat") -> Proc:
        launched = time.time()
        proc = self.start(
            name,
            [
                str(VENV_BIN / "celery"),
                "-A",
                "servicedesk",
                "beat",
                "-l",
                "info",
                "--pidfile",
                str(self.tmp / f"{name}.pid"),
                "-s",
                str(self.tmp / f"{name}-schedule"),
            ],
        )
        wait_until(lambda: "beat: Starting" in proc.text() or not proc.alive(), timeout=90, what=f"{name} started")
        if not proc.alive():
            raise RuntimeError(f"{name} exited:\n{proc.text()[-2000:]}")
        # The scheduler writes the schedule's entries to the database just after "Starting";
        # wait for that so a change made afterwards (set_intervals) is not overwritten.
        from django_celery_beat.models import PeriodicTask

        from servicedesk.schedule import beat_schedule

        names = set(beat_schedule())
        wait_until(
            lambda: (
                PeriodicTask.objects.filter(name__in=names, date_changed__gte=_aware(launched)).count() == len(names)
            ),
            timeout=60,
            what=f"{name} wrote its schedule",
        )
        time.sleep(1)
        log(f"{name} started (pid {proc.pid}, DatabaseScheduler)")
        return proc

    # what the processes did

    def emails(self) -> Counter:
        """(recipient, subject) → how many times that e-mail was sent, from the file-based backend's folder."""
        sent: Counter = Counter()
        separator = "\n" + "-" * 79 + "\n"
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_text(errors="replace").split(separator):
                if not chunk.strip():
                    continue
                message = email.message_from_string(chunk.lstrip("\n"))
                subject = str(email.header.make_header(email.header.decode_header(message.get("Subject", ""))))
                sent[(message.get("To", ""), subject)] += 1
        return sent


def _aware(epoch: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of a daemonized process is reaped by init; treat "Z" as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def task_results(log_text: str, task: str) -> list[str]:
    """The return values the worker logged for ``task`` ("Task x[id] succeeded in 0.1s: 12")."""
    return re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded in [0-9.e-]+s: (.*)", log_text)


def beat_sends(log_text: str, entry: str) -> int:
    return len(re.findall(rf"Sending due task {re.escape(entry)} ", log_text))


# --- data -----------------------------------------------------------------------------------------


def seed(*, supervisors: int = 1, dispatchers: int = 1) -> dict:
    """A unit with dispatchers, a technician and supervisors (all with e-mail), a customer and a site."""
    from django.contrib.auth.models import Group

    from repairs.models import Customer, Site, Zone
    from servicedesk.models import OrgUnit, User
    from servicedesk.roles import Role

    unit = OrgUnit.objects.create(code="sh-centre", name="Shanghai Service Centre", kind=OrgUnit.Kind.SERVICE_CENTRE)

    def user(username, role):
        obj = User.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com", unit=unit)
        obj.groups.set(Group.objects.filter(name=str(role)))
        return obj

    data = {
        "unit": unit,
        "dispatchers": [user(f"dispatcher{n}", Role.DISPATCHER) for n in range(dispatchers)],
        "technician": user("tech", Role.TECHNICIAN),
        "supervisors": [user(f"supervisor{n}", Role.SUPERVISOR) for n in range(supervisors)],
        "zone": Zone.objects.get(code="urban"),
    }
    data["customer"] = Customer.objects.create(unit=unit, name="Huaxin Printing Co.", phone="021-6666-0001")
    data["site"] = Site.objects.create(customer=data["customer"], address="88 Huaihai Road", zone=data["zone"])
    return data


def bulk_calls(data: dict, attend_by_times, *, prefix: str, **fields) -> list:
    """Calls inserted straight through the ORM (the service refuses deadlines already past)."""
    import datetime as dt

    from repairs.models import RepairCall

    calls = [
        RepairCall(
            number=f"{prefix}-{n:06d}",
            unit=data["unit"],
            customer=data["customer"],
            site=data["site"],
            contact_name="Ms Li",
            contact_phone="138 0013 8000",
            problem="The machine shows error E4 and stops.",
            received_at=attend_by - dt.timedelta(hours=6),
            zone=data["zone"],
            attend_by=attend_by,
            created_by=data["dispatchers"][0],
            created_at=attend_by - dt.timedelta(hours=6),
            updated_at=attend_by - dt.timedelta(hours=6),
            **fields,
        )
        for n, attend_by in enumerate(attend_by_times)
    ]
    return RepairCall.objects.bulk_create(calls, batch_size=1000)


def set_intervals(seconds_by_entry: dict[str, float]) -> None:
    """Change beat entries' intervals in the database, as an administrator would in the admin.

    The running beats (DatabaseScheduler) notice the change within their 5 s maximum interval.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, seconds in seconds_by_entry.items():
        every, _ = IntervalSchedule.objects.get_or_create(every=int(seconds), period=IntervalSchedule.SECONDS)
        task = PeriodicTask.objects.get(name=name)
        task.interval = every
        task.save()


# --- HTTP -----------------------------------------------------------------------------------------


class Session:
    """A browser-like session: cookies, CSRF token, one request at a time, a client-side timeout."""

    def __init__(self, port: int, *, timeout: float = 35):
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, bytes, float]:
        """Returns (status, headers, body, seconds); status 0 when the connection failed or timed out."""
        headers = {"Host": f"{HOST}:{self.port}", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode({"csrfmiddlewaretoken": self.token, **body}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{HOST}:{self.port}{path}"
        started = time.monotonic()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except OSError as err:  # refused, reset or timed out
            return 0, {"error": repr(err)}, b"", time.monotonic() - started
        finally:
            conn.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), payload, time.monotonic() - started

    def login(self, username: str, password: str = PASSWORD) -> None:
        status, _h, html, _t = self.request("GET", "/accounts/login/")
        self._token_from(html)
        status, _h, _b, _t = self.request("POST", "/accounts/login/", {"username": username, "password": password})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {username} failed: {status}")
        status, _h, html, _t = self.request("GET", "/calls/new/")
        if status != 200:
            raise RuntimeError(f"the call-log form answered {status}")
        self._token_from(html)

    def _token_from(self, html: bytes) -> None:
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if not match:
            raise RuntimeError("no CSRF token on the page")
        self.token = match.group(1).decode()

    def log_call(self, data: dict, n: int) -> tuple[int, int | None, float]:
        """POST the call-log form; returns (status, new call id or None, seconds)."""
        from django.utils import timezone

        status, headers, _b, took = self.request(
            "POST",
            "/calls/new/",
            {
                "customer": data["customer"].pk,
                "site": data["site"].pk,
                "contact_name": f"Caller {n}",
                "contact_phone": "139-0000-5678",
                "channel": "phone",
                "coverage": "unknown",
                "problem": f"Fault-test call {n}: error E4",
                "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            },
        )
        match = re.search(r"/calls/(\d+)/$", headers.get("Location", ""))
        return status, int(match.group(1)) if (status == 302 and match) else None, took

    def dispatch(self, call_id: int, technician_id: int) -> tuple[int, float]:
        status, _h, _b, took = self.request(
            "POST", f"/calls/{call_id}/dispatch/", {"version": 1, "technician": technician_id}
        )
        return status, took


# --- verdicts -------------------------------------------------------------------------------------


class Verdict:
    """Named checks plus measurements; printed as PASS/FAIL lines and saved as JSON."""

    def __init__(self, scenario: str):
        self.scenario = scenario
        self.checks: list[tuple[str, bool, str]] = []
        self.measured: dict = {}

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append((name, bool(ok), detail))
        log(f"  {'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
        return bool(ok)

    def measure(self, **values) -> None:
        self.measured.update(values)
        for key, value in values.items():
            log(f"  measured {key} = {value}")

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for _n, ok, _d in self.checks)

    def finish(self, error: BaseException | None = None) -> int:
        if error is not None:
            self.checks.append(("ran to the end", False, f"{type(error).__name__}: {error}"))
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{self.scenario}.json").write_text(
            json.dumps(
                {
                    "scenario": self.scenario,
                    "passed": self.passed,
                    "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in self.checks],
                    "measured": self.measured,
                },
                indent=2,
                default=str,
            )
        )
        failed = [n for n, ok, _d in self.checks if not ok]
        print(
            f"{'PASS' if self.passed else 'FAIL'} {self.scenario}"
            + (f" (failed: {', '.join(failed)})" if failed else "")
        )
        return 0 if self.passed else 1


def run(scenario: str, body, *, time_limit: int, email_delay: float = 0.0) -> int:
    """Run ``body(stack, verdict)`` inside a fresh stack; always tear it down; exit status 0 = PASS."""
    verdict = Verdict(scenario)
    log(f"=== {scenario} (time limit {time_limit} s)")
    error = None
    try:
        with Stack(scenario, time_limit=time_limit, email_delay=email_delay) as stack:
            body(stack, verdict)
    except (Exception, TimeLimit, SystemExit, KeyboardInterrupt) as err:
        error = err
        import traceback

        traceback.print_exc()
    return verdict.finish(error)


def make_template(folder: str) -> None:
    """A migrated cluster (``folder``/pgdata) and collected static files (``folder``/static) for run_all.sh."""
    os.environ.pop("FAULTS_PGDATA_TEMPLATE", None)
    os.environ["FAULTS_STATIC_ROOT"] = str(Path(folder) / "static")
    with Stack("template", time_limit=900) as stack:
        stack.keep_pgdata_in = str(Path(folder) / "pgdata")
    log(f"template cluster in {folder}")


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median_s": round(ordered[len(ordered) // 2], 3),
        "p95_s": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "max_s": round(ordered[-1], 3),
    }


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--make-template":
        make_template(sys.argv[2])
    else:
        sys.exit("usage: harness.py --make-template FOLDER")
