"""Benchmark of the live board's push (issue 16): 200 open boards on one web process, one change to all.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_bench_push REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/push.py --boards 200 --rounds 10

1. Migrates the database named by ``DATABASE_URL`` (its name must start with ``sd_``), makes one
   dispatcher and one session for each board (as 200 browsers logged in would have).
2. Starts ONE uvicorn process (servicedesk.asgi, ``DJANGO_DEBUG=0``, ``DJANGO_HTTPS=0``) on a free
   loopback port and opens ``--boards`` server-sent-event streams on ``/calls/board/stream/``.
3. Each round: one change of the unit (``board_changed``, what every service calls after commit) is
   published at t0; the time until each stream has its ``board`` event is one delivery. Prints the
   p50/p95/max over all deliveries, the web process's resident memory before and with the streams
   open (per connection), and the load average beside each figure.

What this leaves out: each board then reads its rows again through the board view (200 GETs of the
cached page); that is the board's ordinary cost, measured in bench/dispatch.py.
Traffic goes to 127.0.0.1 only; every wait is bounded; the web process is always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


WARM_UP = 10


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup(boards: int) -> tuple[int, list[str]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from servicedesk.models import OrgUnit, User
    from servicedesk.roles import Role

    name = settings.DATABASES["default"]["NAME"]
    if not str(name).startswith("sd_"):
        raise SystemExit(f"refusing to write to database {name!r}: use one whose name starts with sd_")
    call_command("migrate", verbosity=0)
    unit, _ = OrgUnit.objects.get_or_create(code="bench-push", defaults={"name": "Bench push", "kind": "branch"})
    user, created = User.objects.get_or_create(username="bench-push-dispatcher", defaults={"unit": unit})
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.set(Group.objects.filter(name=str(Role.DISPATCHER)))
    keys = []
    for _ in range(boards):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "servicedesk.backends.UnitModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return unit.pk, keys


class Board:
    """One open stream, read as a browser's EventSource reads it."""

    def __init__(self, port: int, session_key: str):
        self.port = port
        self.session_key = session_key
        self.reader = self.writer = None
        self.events: asyncio.Queue = asyncio.Queue()

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(
            (
                "GET /calls/board/stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                f"Cookie: sessionid={self.session_key}\r\n\r\n"
            ).encode()
        )
        await self.writer.drain()
        asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        status = (await self.reader.readline()).decode(errors="replace").strip()
        if " 200 " not in status + " ":
            self.events.put_nowait((status, time.perf_counter()))
            return
        while line := await self.reader.readline():
            text = line.decode(errors="replace").strip()
            if text.startswith("event: "):
                self.events.put_nowait((text.removeprefix("event: "), time.perf_counter()))

    async def next_event(self, timeout: float = 10) -> tuple[str, float]:
        return await asyncio.wait_for(self.events.get(), timeout)


async def _run(port: int, keys: list[str], unit_id: int, rounds: int, web_pid: int) -> None:
    from asgiref.sync import sync_to_async

    from repairs.board_cache import board_changed

    boards = [Board(port, key) for key in keys]

    async def open_all(group: list[Board]) -> None:
        for start in range(0, len(group), 50):  # 50 at a time, as boards reconnecting after a restart would
            await asyncio.gather(*(b.open() for b in group[start : start + 50]))
        for board in group:
            name, _at = await board.next_event(30)
            if name != "ready":
                raise SystemExit(f"a stream answered {name!r}, not 'ready': is REDIS_URL set and Redis up?")

    # The first streams warm the process (imports, the hub's Redis subscription): memory is counted after.
    warm, rest = boards[:WARM_UP], boards[WARM_UP:]
    await open_all(warm)
    await asyncio.sleep(1)
    rss_before = _rss_kib(web_pid)
    started = time.perf_counter()
    await open_all(rest)
    opened = time.perf_counter() - started
    await asyncio.sleep(1)
    rss_open = _rss_kib(web_pid)
    print(f"{len(boards)} streams open ({len(rest)} in {opened:.2f} s after {len(warm)} to warm up) ({_load()})")
    print(
        f"web process memory: {rss_before / 1024:.1f} MiB with {len(warm)} streams, {rss_open / 1024:.1f} MiB with "
        f"{len(boards)}: {(rss_open - rss_before) / max(len(rest), 1):.1f} KiB per connection ({_load()})"
    )
    deliveries = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        await sync_to_async(board_changed)(unit_id=unit_id)
        for board in boards:
            name, at = await board.next_event()
            if name == "board":
                deliveries.append(at - t0)
        await asyncio.sleep(0.5)
    deliveries.sort()
    p95 = deliveries[int(0.95 * (len(deliveries) - 1))]
    print(
        f"{rounds} changes × {len(boards)} boards = {len(deliveries)} deliveries: "
        f"p50 {statistics.median(deliveries) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {deliveries[-1] * 1000:.1f} ms ({_load()})"
    )
    for board in boards:
        board.writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("set REDIS_URL: the push needs Redis")
    os.environ.update(DJANGO_DEBUG="0", DJANGO_HTTPS="0", DATABASE_CONN_MAX_AGE="0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-push-" + os.urandom(8).hex())
    unit_id, keys = _setup(args.boards)
    port = _free_port()
    web = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/uvicorn"),
            "servicedesk.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "2",
        ],
        cwd=ROOT,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"one uvicorn process (pid {web.pid}) on 127.0.0.1:{port}; {_load()}")
        asyncio.run(_run(port, keys, unit_id, args.rounds, web.pid))
    finally:
        web.terminate()
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            web.kill()


if __name__ == "__main__":
    main()
