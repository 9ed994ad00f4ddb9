"""TFRecord files without TensorFlow: the format Magenta's tools read and write.

Each record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)``
(little endian). Writing it here keeps TensorFlow out of import workers, where loading it would
cost seconds per process and make forking unsafe; ``tf.data.TFRecordDataset`` reads the files.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

import google_crc32c

from composer.atomic import atomic_file
from composer.errors import CorpusError

_MASK_DELTA = 0xA282EAD8


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def write_records(path: str | os.PathLike, records: Iterable[bytes]) -> Path:
    """Write ``records`` (serialized protos) to a TFRecord file atomically."""
    path = Path(path)
    with atomic_file(path) as out:
        for data in records:
            length = struct.pack("<Q", len(data))
            out.write(length + struct.pack("<I", _masked_crc(length)))
            out.write(data + struct.pack("<I", _masked_crc(data)))
    return path


def read_records(path: str | os.PathLike) -> Iterator[bytes]:
    """Yield the records of a TFRecord file, checking both checksums of each.

    Raises:
      CorpusError naming the file when it is truncated or a checksum does not match.
    """
    path = Path(path)
    buffer = memoryview(path.read_bytes())
    offset = 0
    while offset < len(buffer):
        header = bytes(buffer[offset:offset + 12])
        if len(header) < 12:
            raise CorpusError(f"{path}: truncated TFRecord header at byte {offset}")
        (length,) = struct.unpack("<Q", header[:8])
        (length_crc,) = struct.unpack("<I", header[8:])
        data = bytes(buffer[offset + 12:offset + 12 + length])
        footer = bytes(buffer[offset + 12 + length:offset + 16 + length])
        if length_crc != _masked_crc(header[:8]) or len(footer) < 4 \
                or struct.unpack("<I", footer)[0] != _masked_crc(data):
            raise CorpusError(f"{path}: corrupt TFRecord (checksum mismatch at byte {offset})")
        yield data
        offset += 16 + length
