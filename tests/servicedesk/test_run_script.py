"""README's first command, `scripts/run`, stops cleanly on a signal to its own PID (issue 12).

A process manager or `timeout` sends SIGTERM (or SIGINT) to the PID it started, not to the process group:
the web server and the Celery worker must stop with it, leaving nothing running. The script runs for real,
on the embedded default (SQLite and the file-system broker) in a temporary folder.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from django.conf import settings

ROOT = settings.BASE_DIR


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("run-script")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_scripts_own_pid_stops_the_web_server_and_the_worker(var_dir, signum):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(PORT=str(port), SERVICEDESK_VAR_DIR=str(var_dir), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    log = open(var_dir / f"run-{signum.name}.log", "wb")
    # Its own session, so that the test can see (and clean up) every process the script started.
    script = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            assert script.poll() is None, (var_dir / f"run-{signum.name}.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "scripts/run did not start serving within 240 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        worker_log = (var_dir / "log" / "celery.log").read_text()
        assert " ready." in worker_log

        script.send_signal(signum)
        script.wait(timeout=60)
        gone_by = time.monotonic() + 10
        while _group_alive(script.pid) and time.monotonic() < gone_by:
            time.sleep(0.2)
        left = subprocess.run(
            ["ps", "-o", "pid,args", "--no-headers", "-g", str(script.pid)], capture_output=True, text=True
        ).stdout
        assert not _group_alive(script.pid), f"still running after {signum.name}:\n{left}"
        assert script.returncode == 0
    finally:
        if _group_alive(script.pid):
            os.killpg(script.pid, signal.SIGKILL)
        script.wait(timeout=10) if script.poll() is None else None
        log.close()

