"""Production settings pass Django's deployment checks, and the models match the migrations."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def _manage(*args, tmp_path, **extra_env):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "servicedesk.settings",
        "SERVICEDESK_VAR_DIR": str(tmp_path / "var"),
        # Set, even if empty, so a developer's .env (read without overwriting) cannot change the run.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        "REDIS_URL": "",
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="prod-" + "Zx8!qL2#vR5$wN7%kT4^" * 4,
        DJANGO_ALLOWED_HOSTS="example.com",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "ERRORS" not in output, output
    assert "System check identified no issues" in output, output


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = _manage(
        "check", tmp_path=tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="", DJANGO_ALLOWED_HOSTS="example.com"
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_the_models_match_the_migrations(tmp_path):
    result = _manage(
        "makemigrations",
        "--check",
        "--dry-run",
        tmp_path=tmp_path,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="prod-" + "Zx8!qL2#vR5$wN7%kT4^" * 4,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_health_checks_answer_over_plain_http_with_production_settings(tmp_path):
    """A load balancer asks /healthz over HTTP without X-Forwarded-Proto; other pages still go to HTTPS."""
    script = (
        "from django.test import Client; c = Client(HTTP_HOST='example.com'); "
        "print('healthz', c.get('/healthz').status_code); "
        "r = c.get('/accounts/login/'); print('login', r.status_code, r.get('Location', ''))"
    )
    result = _manage(
        "shell",
        "-c",
        script,
        tmp_path=tmp_path,
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="1",
        DJANGO_BEHIND_PROXY="1",
        DJANGO_SECRET_KEY="prod-" + "Zx8!qL2#vR5$wN7%kT4^" * 4,
        DJANGO_ALLOWED_HOSTS="example.com",
    )
    output = result.stdout + result.stderr
    assert "healthz 200" in result.stdout, output
    assert "login 301 https://example.com/accounts/login/" in result.stdout, output
