"""Reading an uploaded table (CSV or .xlsx) for apps below contracts, which owns the hardened reader.

contracts registers its reader (``contracts.services.imports.read_table``: encodings, delimiters, the lean
.xlsx reader with its decompression bounds, size and row limits) in ``AppConfig.ready``; a lower app such as
parts reads through ``read_table`` here, so there is one reader and no copy of it. The reader belongs in the
core; until it moves, this hook is the way down.
"""

from collections.abc import Callable

_reader: list[Callable] = []


def register_table_reader(reader: Callable) -> None:
    """``reader(*, content: bytes, filename: str) -> (header, [(line, cells), ...])``; raises ApplicationError."""
    _reader[:] = [reader]


def read_table(*, content: bytes, filename: str):
    if not _reader:
        raise RuntimeError("no table reader registered (contracts registers it in its AppConfig.ready)")
    return _reader[0](content=content, filename=filename)


def cell_text(value) -> str:
    if value is None:
        return ""
    return str(value).strip()
