"""Outlook MSG files written by the test: a small Compound File (CFB v3) writer.

No library in the lock writes MSG (python-oxmsg and olefile only read), so this lays out
the OLE container by hand as [MS-CFB] describes it: 512-byte sectors, a FAT, the
directory, and a mini stream (64-byte sectors) for the streams under 4096 bytes. The MSG
content follows [MS-OXMSG]: a properties stream per storage and one ``__substg1.0_*``
stream per variable-length property.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["make_msg"]

_SECTOR = 512
_MINI = 64
_CUTOFF = 4096
_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_STRING, _BINARY, _INT32 = 0x001F, 0x0102, 0x0003


@dataclass
class _Node:
    name: str
    data: bytes | None = None  # None: a storage
    children: list[_Node] = field(default_factory=list)
    start: int = _END
    index: int = 0
    right: int = _NOSTREAM  # the next sibling (siblings chained, all black)


def make_msg(
    *, subject: str, sender: str, body: str, attachments: list[tuple[str, bytes]]
) -> bytes:
    """A message with a plain-text body and ``attachments`` as (file name, bytes)."""
    headers = f"From: {sender}\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
    root_props: list[tuple[int, int, bytes | int]] = [
        (0x0037, _STRING, subject.encode("utf-16-le")),
        (0x1000, _STRING, body.encode("utf-16-le")),
        (0x007D, _STRING, headers.encode("utf-16-le")),
        (0x001A, _STRING, "IPM.Note".encode("utf-16-le")),
    ]
    header = struct.pack("<8x4I8x", 0, len(attachments), 0, len(attachments))
    root = _Node("Root Entry", children=_storage_streams(header, root_props))
    for number, (name, data) in enumerate(attachments):
        props: list[tuple[int, int, bytes | int]] = [
            (0x3707, _STRING, name.encode("utf-16-le")),
            (0x3701, _BINARY, data),
            (0x3705, _INT32, 1),  # ATTACH_BY_VALUE
        ]
        root.children.append(
            _Node(
                f"__attach_version1.0_#{number:08X}",
                children=_storage_streams(bytes(8), props),
            )
        )
    return _compound_file(root)


def _storage_streams(header: bytes, props: Sequence[tuple[int, int, bytes | int]]) -> list[_Node]:
    entries = bytearray(header)
    streams = []
    for pid, ptyp, value in props:
        if isinstance(value, bytes):
            size = len(value) + (2 if ptyp == _STRING else 0)  # a string's counts its NUL
            entries += struct.pack("<HHII4x", ptyp, pid, 6, size)
            streams.append(_Node(f"__substg1.0_{pid:04X}{ptyp:04X}", value))
        else:
            entries += struct.pack("<HHIi4x", ptyp, pid, 6, value)
    return [_Node("__properties_version1.0", bytes(entries)), *streams]


def _walk(node: _Node) -> list[_Node]:
    found = [node]
    for child in node.children:
        found.extend(_walk(child))
    return found


def _compound_file(root: _Node) -> bytes:
    nodes = _walk(root)
    for index, node in enumerate(nodes):
        node.index = index
    small = [n for n in nodes if n.data is not None and len(n.data) < _CUTOFF]
    large = [n for n in nodes if n.data is not None and len(n.data) >= _CUTOFF]
    mini_stream = bytearray()
    mini_fat: list[int] = []
    for node in small:
        assert node.data is not None
        count = max(1, -(-len(node.data) // _MINI))
        node.start = len(mini_fat)
        mini_fat.extend(range(node.start + 1, node.start + count))
        mini_fat.append(_END)
        mini_stream += node.data.ljust(count * _MINI, b"\x00")
    sectors: list[bytes] = []  # every sector after the FAT
    fat_chains: list[list[int]] = []  # sector numbers relative to the first non-FAT sector

    def place(data: bytes) -> int:
        first = len(sectors)
        count = max(1, -(-len(data) // _SECTOR))
        for i in range(count):
            sectors.append(data[i * _SECTOR : (i + 1) * _SECTOR].ljust(_SECTOR, b"\x00"))
        fat_chains.append(list(range(first, first + count)))
        return first

    directory_slots = -(-len(nodes) // 4) * 4
    dir_first = place(bytes(directory_slots * 128))  # filled in below
    mini_fat_bytes = b"".join(struct.pack("<I", v) for v in mini_fat)
    mini_fat_first = place(mini_fat_bytes)
    mini_stream_first = place(bytes(mini_stream))
    for node in large:
        assert node.data is not None
        node.start = place(node.data)
    fat_count = 1
    while (len(sectors) + fat_count) > fat_count * (_SECTOR // 4):
        fat_count += 1
    shift = fat_count
    fat = [_FATSECT] * fat_count + [_FREE] * len(sectors)
    for chain in fat_chains:
        for a, b in zip(chain, [*chain[1:], None], strict=True):
            fat[a + shift] = _END if b is None else b + shift
    fat += [_FREE] * (fat_count * (_SECTOR // 4) - len(fat))
    for node in large:
        node.start += shift
    root.start = mini_stream_first + shift
    root.data = bytes(mini_stream)  # its size is the mini stream's
    directory = bytearray()
    for node in nodes:
        directory += _entry(node, nodes)
    directory = directory.ljust(directory_slots * 128, b"\x00")
    for slot in range(len(nodes), directory_slots):
        struct.pack_into("<III", directory, slot * 128 + 68, _NOSTREAM, _NOSTREAM, _NOSTREAM)
    for i in range(directory_slots // 4):
        sectors[dir_first + i] = bytes(directory[i * _SECTOR : (i + 1) * _SECTOR])
    difat = [*range(fat_count)] + [_FREE] * (109 - fat_count)
    header = struct.pack(
        "<8s16sHHHHH6xIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        bytes(16),
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        0,
        fat_count,
        dir_first + shift,
        0,
        _CUTOFF,
        mini_fat_first + shift if mini_fat else _END,
        -(-len(mini_fat_bytes) // _SECTOR),
        _END,
        0,
    ) + b"".join(struct.pack("<I", v) for v in difat)
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)
    return header.ljust(_SECTOR, b"\x00") + fat_bytes + b"".join(sectors)


def _entry(node: _Node, nodes: list[_Node]) -> bytes:
    name = node.name.encode("utf-16-le") + b"\x00\x00"
    kind = 5 if node.index == 0 else (1 if node.data is None else 2)
    child = _NOSTREAM
    if node.children:
        ordered = sorted(node.children, key=lambda n: (len(n.name), n.name.upper()))
        child = ordered[0].index
        for left, right in itertools.pairwise(ordered):
            left.right = right.index
    size = len(node.data) if node.data is not None else 0
    start = node.start if (node.data is not None and size) else (_END if kind != 1 else 0)
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name.ljust(64, b"\x00"),
        len(name),
        kind,
        1,  # black
        _NOSTREAM,
        node.right,
        child,
        bytes(16),
        0,
        0,
        0,
        start,
        size,
    )
