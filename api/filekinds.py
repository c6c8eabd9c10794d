"""What an uploaded file is, judged from its bytes (magic numbers), never from its name.

Only the kinds application materials come in are accepted (docs/documents.md): PDF and OFD
(China's fixed-layout format), scans (JPEG, PNG, TIFF), Word and Excel (old and new), drawings
(DWG, DXF) and ZIP archives. Containers are looked into: an OLE compound file is a DOC only
with a `WordDocument` stream and an XLS only with a `Workbook`; a ZIP is a DOCX with `word/`,
an XLSX with `xl/`, an OFD with `OFD.xml`. Anything else (a program, a script, a web page,
a PowerPoint, an installer) is refused.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True)
class Kind:
    """An accepted kind of file: its name, the media type it is served as, its usual extension."""

    name: str
    media_type: str
    extension: str


KINDS = {
    kind.name: kind
    for kind in (
        Kind("PDF", "application/pdf", ".pdf"),
        Kind("OFD", "application/ofd", ".ofd"),
        Kind("JPEG", "image/jpeg", ".jpg"),
        Kind("PNG", "image/png", ".png"),
        Kind("TIFF", "image/tiff", ".tif"),
        Kind("DOC", "application/msword", ".doc"),
        Kind("DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
        Kind("XLS", "application/vnd.ms-excel", ".xls"),
        Kind("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
        Kind("DWG", "image/vnd.dwg", ".dwg"),
        Kind("DXF", "image/vnd.dxf", ".dxf"),
        Kind("ZIP", "application/zip", ".zip"),
    )
}
MEDIA_TYPES = sorted({kind.media_type for kind in KINDS.values()})

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PNG = b"\x89PNG\r\n\x1a\n"
# AutoCAD drawings name their format version: AC1012 (R13) up to AC1032 (2018 and later).
DWG = re.compile(rb"^AC10[0-9]{2}")
# A text DXF opens with group code 0 and the word SECTION, each on its own line.
DXF = re.compile(rb"^(?:\xef\xbb\xbf)?[ \t\r\n]*0[ \t]*\r?\n[ \t]*SECTION[ \t]*\r?\n")
BINARY_DXF = b"AutoCAD Binary DXF\r\n\x1a\x00"
HEAD = 64


def judge(source: IO[bytes]) -> Kind | None:
    """The kind of the file (read from its start), or None when it is not one that is accepted."""
    source.seek(0)
    head = source.read(HEAD)
    if head.startswith(b"%PDF-"):
        return KINDS["PDF"]
    if head.startswith(b"\xff\xd8\xff"):
        return KINDS["JPEG"]
    if head.startswith(PNG):
        return KINDS["PNG"]
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return KINDS["TIFF"]
    if DWG.match(head):
        return KINDS["DWG"]
    if DXF.match(head) or head.startswith(BINARY_DXF):
        return KINDS["DXF"]
    if head.startswith(OLE):
        return _office_binary(source)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(source)
    return None


def _zip_kind(source: IO[bytes]) -> Kind | None:
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    if "OFD.xml" in names:
        return KINDS["OFD"]
    if any(name.startswith("word/") for name in names):
        return KINDS["DOCX"]
    if any(name.startswith("xl/") for name in names):
        return KINDS["XLSX"]
    return KINDS["ZIP"] if names else None


# ---- OLE compound files (MS-CFB): the names of the streams tell a DOC from an XLS ---------------

END_OF_CHAIN = 0xFFFFFFFA  # sector numbers from here up mark the end of a chain or free sectors
HEADER_FAT_SECTORS = 109  # the header lists the first 109 sectors of the allocation table
MAX_DIRECTORY_SECTORS = 256  # enough for any real document; a longer chain is not followed


def _office_binary(source: IO[bytes]) -> Kind | None:
    names = _ole_stream_names(source)
    if "WordDocument" in names:
        return KINDS["DOC"]
    if names & {"Workbook", "Book"}:
        return KINDS["XLS"]
    return None


def _ole_stream_names(source: IO[bytes]) -> set[str]:
    """The names in the compound file's directory (empty when it cannot be read)."""
    source.seek(0)
    header = source.read(512)
    if len(header) < 512:
        return set()
    shift = struct.unpack_from("<H", header, 30)[0]
    if shift not in (9, 12):
        return set()
    size = 1 << shift
    fat_count, first_directory = struct.unpack_from("<II", header, 44)
    listed = struct.unpack_from(f"<{HEADER_FAT_SECTORS}I", header, 76)[: min(fat_count, HEADER_FAT_SECTORS)]

    def sector(number: int) -> bytes:
        source.seek((number + 1) * size)
        return source.read(size)

    table: list[int] = []
    for number in listed:
        data = sector(number)
        table += struct.unpack(f"<{len(data) // 4}I", data[: len(data) // 4 * 4])
    names: set[str] = set()
    current, seen = first_directory, 0
    while current < END_OF_CHAIN and seen < MAX_DIRECTORY_SECTORS:
        data = sector(current)
        for offset in range(0, len(data) - 127, 128):
            length = struct.unpack_from("<H", data, offset + 64)[0]
            if 2 <= length <= 64:
                names.add(data[offset : offset + length - 2].decode("utf-16-le", "replace"))
        seen += 1
        current = table[current] if current < len(table) else END_OF_CHAIN
    return names
