"""File names of uploads: cleaned when they arrive, and sent back so that any browser saves the file
under its own name, Chinese included (RFC 6266 with an RFC 5987 `filename*`)."""

from __future__ import annotations

import os
import re
import unicodedata
from urllib.parse import quote

# Well under the 255 bytes most file systems allow, with room for the " (1)" a browser may add.
MAX_NAME_BYTES = 200
MAX_EXTENSION_BYTES = 16
# Control and invisible formatting characters (a right-to-left override can disguise
# "gpj.exe" as "exe.jpg"), surrogates, and line and paragraph separators.
DROPPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Characters Windows refuses in a file name.
RESERVED = re.compile(r'[<>:"|?*]')
# RFC 5987 attr-char besides letters and digits: everything else is percent-encoded.
ATTR_CHAR_SAFE = "!#$&+-.^_`|~"


def decode_header_name(raw: bytes) -> str:
    """A file name as a multipart part header carries it: UTF-8 (browsers, curl), else GB 18030
    (older Chinese Windows clients), else Latin-1 (which reads any bytes)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def clean_filename(raw: str, fallback_extension: str) -> str:
    """The name without any folder, control character or reserved character, at most
    MAX_NAME_BYTES of UTF-8, its extension kept; `document<ext>` when nothing is left."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in DROPPED)
    name = RESERVED.sub("_", name)
    name = " ".join(name.split()).strip(" .")
    if not name:
        return f"document{fallback_extension}"
    stem, extension = os.path.splitext(name)
    if len(extension.encode()) > MAX_EXTENSION_BYTES:
        stem, extension = name, ""
    room = MAX_NAME_BYTES - len(extension.encode())
    while len(stem.encode()) > room:
        stem = stem[:-1]
    return stem.rstrip(" .") + extension if stem.rstrip(" .") else f"document{extension or fallback_extension}"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII `filename` for old clients and the exact name as `filename*`."""
    stem, extension = os.path.splitext(filename)
    ascii_stem = _ascii(stem)
    ascii_extension = _ascii(extension)
    if not any(c.isalnum() for c in ascii_stem):
        ascii_stem = "document"
    fallback = ascii_stem + ascii_extension
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe=ATTR_CHAR_SAFE)}"


def _ascii(text: str) -> str:
    """Printable ASCII for a quoted-string: accents dropped, other characters gone, quotes replaced."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r'[^\x20-\x7e]|["\\]', "_", folded).strip()
