"""Small files that decode to a great deal: built in the test, a few hundred bytes on disk."""

import struct
import zlib


def png_bomb(width: int, height: int) -> bytes:
    """A PNG header declaring ``width`` × ``height`` grey pixels, with one row of real data after it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * (width + 1), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def billion_laughs(root: bytes = b"sst") -> bytes:
    """Nine levels of ten entities each: a billion "lol"s from under a kilobyte, if a parser expanded them."""
    entities = [b'<!ENTITY lol "lol">']
    for level in range(1, 10):
        inner = b"&lol%d;" % (level - 1) if level > 1 else b"&lol;"
        entities.append(b'<!ENTITY lol%d "%s">' % (level, inner * 10))
    return b'<?xml version="1.0"?><!DOCTYPE lolz [' + b"".join(entities) + b"]><%s>&lol9;</%s>" % (root, root)
