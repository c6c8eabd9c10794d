"""Tiny real files of every kind an upload accepts, and some it refuses, built byte by byte.

No imaging or office library is among the project's dependencies: each file is written from its
format's specification, as small as the format allows (a 1×1 image, one empty page or sheet).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def pdf() -> bytes:
    """One empty A4 page, with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png() -> bytes:
    """A 1×1 grey pixel."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1×1, 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    """A 1×1 grey baseline JPEG: one 8×8 block whose only coefficient is a DC difference of 0."""
    quantisation = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 1, 1, 1) + b"\x01\x11\x00"
    # Huffman tables with one code each: DC category 0, and AC end-of-block; both are the bit 0.
    dc = b"\xff\xc4" + struct.pack(">H", 20) + b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00"
    ac = b"\xff\xc4" + struct.pack(">H", 20) + b"\x10" + b"\x01" + b"\x00" * 15 + b"\x00"
    scan = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x3f\x00"
    return b"\xff\xd8" + quantisation + frame + dc + ac + scan + b"\x3f" + b"\xff\xd9"


def tiff() -> bytes:
    """A 1×1 grey baseline TIFF, little-endian, uncompressed."""
    tags = [  # (tag, type SHORT=3 / LONG=4, value)
        (256, 3, 1),  # width
        (257, 3, 1),  # length
        (258, 3, 8),  # bits per sample
        (259, 3, 1),  # no compression
        (262, 3, 1),  # black is zero
        (273, 4, 8 + 2 + 9 * 12 + 4),  # the strip follows the directory
        (277, 3, 1),  # samples per pixel
        (278, 3, 1),  # rows per strip
        (279, 4, 1),  # strip byte count
    ]
    directory = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        field = struct.pack("<I", value) if kind == 4 else struct.pack("<HH", value, 0)  # left-justified SHORT
        directory += struct.pack("<HHI", tag, kind, 1) + field
    return b"II*\x00" + struct.pack("<I", 8) + directory + struct.pack("<I", 0) + b"\x80"


def compound_file(stream: str) -> bytes:
    """An OLE compound file (MS-CFB, version 3) holding one 4096-byte stream named `stream`:
    what a .doc (`WordDocument`) or an .xls (`Workbook`) is made of."""
    free, end, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    data_sectors = 8  # 4096 bytes in 512-byte sectors: at the cut-off, so no mini stream is needed
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 40, 0, 1, 1, 0, 4096, end, 0, end)  # 1 FAT sector, directory at 1
    struct.pack_into("<I", header, 68, 0)  # no DIFAT sector
    struct.pack_into("<109I", header, 76, 0, *([free] * 108))  # the FAT is sector 0
    chain = [fat_sector, end] + [2 + i + 1 for i in range(data_sectors - 1)] + [end]
    fat = struct.pack(f"<{len(chain)}I", *chain) + struct.pack("<I", free) * (128 - len(chain))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        raw = bytearray(128)
        raw[0 : len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 64, len(encoded), kind, 1)
        struct.pack_into("<III", raw, 68, no_stream, no_stream, child)
        struct.pack_into("<II", raw, 116, start, size)
        return bytes(raw)

    directory = entry("Root Entry", 5, 1, end, 0) + entry(stream, 2, no_stream, 2, 4096)
    directory += bytes(128) * 2  # unused entries
    return bytes(header) + fat + directory + b"\x00" * (512 * data_sectors)


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


_RELS = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def docx() -> bytes:
    """A Word document with one empty paragraph."""
    return _zip(
        {
            "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
            "_rels/.rels": _RELS.format(f'<Relationship Id="r1" Type="{_OFFICE}" Target="word/document.xml"/>'),
            "word/document.xml": '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
            'main"><w:body><w:p/></w:body></w:document>',
        }
    )


def xlsx() -> bytes:
    """An Excel workbook with one empty sheet."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return _zip(
        {
            "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
            "_rels/.rels": _RELS.format(f'<Relationship Id="r1" Type="{_OFFICE}" Target="xl/workbook.xml"/>'),
            "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="r1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": _RELS.format(
                f'<Relationship Id="r1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            ),
            "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData/></worksheet>',
        }
    )


def ofd() -> bytes:
    """An OFD package (GB/T 33190) with its entry file and one document."""
    return _zip(
        {
            "OFD.xml": '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD">'
            "<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
            "Doc_0/Document.xml": '<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData>'
            "<ofd:MaxUnitID>1</ofd:MaxUnitID></ofd:CommonData></ofd:Document>",
        }
    )


def plain_zip() -> bytes:
    return _zip({"清单.txt": "图纸目录\n"})


def dwg() -> bytes:
    """The opening of an AutoCAD 2018 drawing: its version string and the rest of the header block."""
    return b"AC1032" + b"\x00" * 5 + b"\x03" + b"\x00" * 116


def dxf() -> bytes:
    """A drawing exchange file with one line."""
    lines = ["0", "SECTION", "2", "ENTITIES", "0", "LINE", "8", "0", "10", "0.0", "20", "0.0", "11", "1.0", "21", "1.0"]
    return ("\n".join([*lines, "0", "ENDSEC", "0", "EOF"]) + "\n").encode()


def windows_program() -> bytes:
    """The start of a Windows executable: the MZ stub and a PE header."""
    stub = bytearray(b"MZ" + b"\x00" * 62)
    struct.pack_into("<I", stub, 60, 64)
    return bytes(stub) + b"PE\x00\x00" + b"\x00" * 64


# Every accepted kind: (name, bytes, the media type it is served as).
ACCEPTED: list[tuple[str, bytes, str]] = [
    ("申报材料.pdf", pdf(), "application/pdf"),
    ("电子证照.ofd", ofd(), "application/ofd"),
    ("现场照片.jpg", jpeg(), "image/jpeg"),
    ("平面图.png", png(), "image/png"),
    ("扫描件.tif", tiff(), "image/tiff"),
    ("可行性研究报告.doc", compound_file("WordDocument"), "application/msword"),
    ("可行性研究报告.docx", docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("投资估算表.xls", compound_file("Workbook"), "application/vnd.ms-excel"),
    ("投资估算表.xlsx", xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("总平面图.dwg", dwg(), "image/vnd.dwg"),
    ("总平面图.dxf", dxf(), "image/vnd.dxf"),
    ("图纸.zip", plain_zip(), "application/zip"),
]
# Files refused whatever they are called.
REFUSED: list[tuple[str, bytes]] = [
    ("批复.pdf", windows_program()),
    ("说明.txt", "这是一个文本文件。\n".encode()),
    ("汇报.doc", compound_file("PowerPoint Document")),
    ("页面.docx", b"<!doctype html><script>alert(1)</script>"),
    ("空.zip", b"PK\x05\x06" + b"\x00" * 18),
]
