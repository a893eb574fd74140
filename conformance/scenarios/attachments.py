"""Binary files a letter carries: PDF-like, PNG-like and DICOM-like bytes.

They are not valid documents (nothing here renders them); they have the
signatures and the byte patterns that break careless tools: a binary comment
line in the PDF, CR/LF/NUL bytes in the PNG signature, a 128-byte zero preamble
in the DICOM file. Built by hand because only those bytes matter.
"""

from __future__ import annotations

import struct
import zlib

from conformance.scenarios.model import Attachment

PDF_MEDIA_TYPE = "application/pdf"
PNG_MEDIA_TYPE = "image/png"
DICOM_MEDIA_TYPE = "application/dicom"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DICOM_PREAMBLE = b"\0" * 128 + b"DICM"


def pdf_like(payload: bytes = b"") -> bytes:
    """%PDF-1.4 with the binary marker comment, an object holding `payload`, %%EOF."""
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        b"1 0 obj\n<< /Length "
        + str(len(payload)).encode()
        + b" >>\nstream\n"
        + payload
        + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_like(payload: bytes = b"") -> bytes:
    """The PNG signature, an IHDR chunk for a 1x1 image, `payload` in an IDAT chunk, IEND."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", payload)
        + _png_chunk(b"IEND", b"")
    )


def dicom_like(payload: bytes = b"") -> bytes:
    """The 128-byte preamble, "DICM", a group-2 length element, then `payload`."""
    # (0002,0000) UL 4 = len(payload): explicit VR little endian, as a real file opens.
    meta = b"\x02\x00\x00\x00UL\x04\x00" + struct.pack("<I", len(payload))
    return DICOM_PREAMBLE + meta + payload


def basic_attachment() -> Attachment:
    """The fixed first attachment: a small PDF with an accented name."""
    return Attachment(
        filename="compte-rendu échographie.pdf",
        media_type=PDF_MEDIA_TYPE,
        data=pdf_like(b"BT /F1 12 Tf (Compte rendu) Tj ET\r\n\x00\xff\x80"),
    )
