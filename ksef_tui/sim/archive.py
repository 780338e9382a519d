"""ZIP / tar.gz packing for exports and unpacking for batch sessions (with size guards)."""

from __future__ import annotations

import io
import tarfile
import zipfile

MAX_MEMBER_BYTES = 3_000_000  # an invoice with attachments is at most 3 MB
MAX_MEMBERS = 10_001
COMPRESSION_TYPES = ("Zip", "TarGz")  # CompressionType of the OpenAPI (TarGz since 2.6.0)


def pack(files: list[tuple[str, bytes]], compression: str) -> bytes:
    buffer = io.BytesIO()
    if compression == "Zip":
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files:
                archive.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name, data in files:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def unpack_archive(data: bytes, compression: str) -> list[tuple[str, bytes]]:
    """Regular files of the archive in their stored order; raises ``ValueError`` when it cannot be read."""
    files: list[tuple[str, bytes]] = []
    try:
        if compression == "Zip":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if info.is_dir():
                        continue
                    if info.file_size > MAX_MEMBER_BYTES or len(files) >= MAX_MEMBERS:
                        raise ValueError("archive member too large or too many members")
                    files.append((info.filename, archive.read(info)))
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                for member in archive.getmembers():
                    if not member.isfile():
                        continue
                    if member.size > MAX_MEMBER_BYTES or len(files) >= MAX_MEMBERS:
                        raise ValueError("archive member too large or too many members")
                    extracted = archive.extractfile(member)
                    if extracted is None:
                        continue
                    files.append((member.name, extracted.read()))
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError(str(exc)) from exc
    return files
