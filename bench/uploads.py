"""Benchmark of the upload bounds (issue 12): time and peak memory of each bomb through the real code.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sd_h_uploads REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/uploads.py

Each bomb is built here (in a temporary folder, small on disk), then read in a fresh Python process so that its
peak resident memory (VmHWM in /proc/self/status) is its own:

- ``reader``: the import's reader as the worker calls it (``read_table``: the .xlsx reader or the CSV reader);
- ``import``: the whole service, upload and run (``contract_import_upload`` + ``contract_import_run``), in a
  transaction rolled back at the end;
- ``image``: the picture check of an attachment or a signature.

Each line gives the outcome (the message the user sees, or the row count), the wall time and the peak RSS of
that process, and the baseline RSS of a process that only started Django. A legitimate 20,000-row workbook is
measured the same way for comparison.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MB = 1024 * 1024
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- Building the bombs (in the parent) -----------------------------------------------------------------


def _workbook(rows: int) -> bytes:
    from openpyxl import Workbook

    header = ["contract_number", "customer_name", "customer_phone", "start_on", "end_on", "fee", "serial_numbers",
              "product_model"]  # fmt: skip
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for n in range(rows):
        sheet.append([f"BENCH-{n}", f"客户 {n}", "021-5555-0101", "2030-04-01", "2031-03-31", 1200.5, f"BSN-{n}", "SX"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _replaced(content: bytes, members: dict[str, bytes | tuple[int, bytes]]) -> bytes:
    """``content`` with members replaced; a (size, unit) member is ``unit`` repeated to ``size`` bytes, streamed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in members:
                target.writestr(info, source.read(info.filename))
        for name, data in members.items():
            if isinstance(data, bytes):
                target.writestr(name, data)
                continue
            size, head, unit, tail = data
            with target.open(name, "w", force_zip64=True) as member:
                member.write(head)
                block = unit * (MB // len(unit))
                written = len(head)
                while written + len(block) <= size - len(tail):
                    member.write(block)
                    written += len(block)
                member.write(tail)
    return out.getvalue()


def build(folder: Path) -> list[tuple[str, str, Path]]:
    """(name, kind, path) of each case."""
    base = _workbook(1)
    cases = []

    def add(name, kind, filename, content):
        path = folder / filename
        path.write_bytes(content)
        cases.append((name, kind, path))

    sst_head = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode()
    # The attack: shared strings that expand to 240 MB from a file of about 250 kB.
    shared = _replaced(
        base, {"xl/sharedStrings.xml": (240 * MB, sst_head, b"<si><t>" + b"x" * 88 + b"</t></si>", b"</sst>")}
    )
    add("shared-strings bomb, 240 MB unpacked", "xlsx", "shared.xlsx", shared)
    # A sheet of 1 GB of one repeated row.
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    sheet_head = f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'.encode()
    zip_bomb = _replaced(base, {"xl/worksheets/sheet1.xml": (1024 * MB, sheet_head, row, b"</sheetData></worksheet>")})
    add("zip bomb, sheet of 1 GB", "xlsx", "zip.xlsx", zip_bomb)
    from tests.bombs import billion_laughs, png_bomb

    laughs = billion_laughs()
    add("billion laughs in sharedStrings.xml", "xlsx", "laughs.xlsx", _replaced(base, {"xl/sharedStrings.xml": laughs}))
    # Within the ratio bound (compresses about 20×), a million tiny rows: refused by the row count as it reads.
    import random

    rng = random.Random(12)
    rows = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, rng.randrange(10**9)) for n in range(1, 1_100_000)
    )
    add(
        "1.1 million rows (ratio ~10)",
        "xlsx",
        "rows.xlsx",
        _replaced(base, {"xl/worksheets/sheet1.xml": sheet_head + rows + b"</sheetData></worksheet>"}),
    )
    add("legitimate workbook, 20,000 rows", "xlsx", "legit.xlsx", _workbook(20_000))
    header = b"contract_number,customer_name,customer_phone,start_on,end_on,fee,serial_numbers,product_model\n"
    add("CSV, one 39 MB line", "csv", "line.csv", header + b"x," * (39 * MB // 2) + b"\n")
    add(
        "CSV, a 39 MB quoted cell over short lines", "csv", "cell.csv", header + b'"' + b"x\n" * (39 * MB // 2) + b'"\n'
    )

    add("PNG 100,000 × 100,000 (attachment)", "image", "bomb.png", png_bomb(100_000, 100_000))
    add("PNG 9,000 × 8,000 (attachment)", "image", "bomb2.png", png_bomb(9_000, 8_000))
    add("PNG 100,000 × 100,000 (signature)", "signature", "sig.png", png_bomb(100_000, 100_000))
    return cases


# --- Measuring one case (in a child) --------------------------------------------------------------------


def child(mode: str, kind: str, path: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    import django

    django.setup()
    content = Path(path).read_bytes()
    baseline = peak_rss_mb()
    started = time.perf_counter()
    if mode == "baseline":
        outcome = "django only"
    elif kind == "image":
        from servicedesk.uploads import UploadRefused, checked_image_size

        try:
            outcome = "accepted %s %dx%d" % checked_image_size(content)
        except UploadRefused as exc:
            outcome = exc.message
    elif kind == "signature":
        from repairs.signatures import signature_png_checked
        from servicedesk.exceptions import ApplicationError

        try:
            signature_png_checked(content)
            outcome = "accepted"
        except ApplicationError as exc:
            outcome = exc.message
    elif mode == "reader":
        from contracts.services.imports import FileUnreadable, read_table

        try:
            _header, data = read_table(content=content, filename=Path(path).name)
            outcome = f"{len(data)} rows read"
        except FileUnreadable as exc:
            outcome = exc.message
    else:
        outcome = _import(content, Path(path).name)
    return {"outcome": outcome, "seconds": time.perf_counter() - started, "peak_mb": peak_rss_mb(),
            "baseline_mb": baseline}  # fmt: skip


class Rollback(Exception):
    pass


def _import(content: bytes, filename: str) -> str:
    from django.contrib.auth.models import Group
    from django.db import transaction

    from contracts.models import ContractType
    from contracts.services import contract_import_run, contract_import_upload
    from servicedesk.models import OrgUnit, User
    from servicedesk.roles import Role

    try:
        with transaction.atomic():
            unit = OrgUnit.objects.create(code="bench-uploads", name="Bench uploads", kind="service_centre")
            user = User.objects.create(username="bench-uploads", unit=unit)
            user.groups.set(Group.objects.filter(name=Role.DISPATCHER))
            ContractType.objects.get_or_create(code="standard", defaults={"name": "Standard"})
            batch = contract_import_upload(user=user, unit=unit, filename=filename, content=content)
            batch = contract_import_run(import_id=batch.pk)
            outcome = f"{batch.status}: {batch.message}"
            raise Rollback
    except Rollback:
        return outcome


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=3, metavar=("MODE", "KIND", "PATH"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    print("load average before:", Path("/proc/loadavg").read_text().strip())
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as folder:
        cases = build(Path(folder))
        base = json.loads(_run("baseline", "xlsx", str(cases[0][2])))
        print(f"Django alone: peak RSS {base['peak_mb']:.0f} MB")
        print(f"| {'case':44} | {'file':>8} | {'path':6} | {'time':>7} | {'peak RSS':>8} | outcome")
        for name, kind, path in cases:
            modes = ["reader", "import"] if kind in ("xlsx", "csv") else ["image"]
            for mode in modes:
                result = json.loads(_run(mode, kind, str(path)))
                size = path.stat().st_size
                print(
                    f"| {name:44} | {_size(size):>8} | {mode:6} | {result['seconds']:6.2f}s "
                    f"| {result['peak_mb']:6.0f}MB | {result['outcome'][:110]}"
                )
    print("load average after:", Path("/proc/loadavg").read_text().strip())
    return 0


def _run(mode, kind, path) -> str:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, kind, path], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return done.stdout.strip().splitlines()[-1]


def _size(size: int) -> str:
    return f"{size / MB:.1f} MB" if size >= MB else f"{size / 1024:.0f} kB"


if __name__ == "__main__":
    sys.exit(main())
