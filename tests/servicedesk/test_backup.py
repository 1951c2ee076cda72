"""The backup procedure is proved by a round trip, not assumed."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import is_postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs the PostgreSQL client tools")
def test_a_backup_restores_into_a_fresh_database_with_every_row(db):
    if not is_postgres():
        pytest.skip("the backup scripts are for PostgreSQL")
    from django.db import connection

    params = connection.settings_dict
    server = f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    if params.get("PASSWORD"):  # a server that asks for one (a freshly installed Debian's loopback)
        env["PGPASSWORD"] = params["PASSWORD"]
    result = subprocess.run(
        [str(ROOT / "deploy" / "test-backup-restore"), server],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "restored identically" in result.stdout
