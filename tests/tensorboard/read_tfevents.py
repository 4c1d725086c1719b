#!/usr/bin/env python3
"""An event-file reader written from TensorFlow's published formats, not from our code.

TFRecord framing: uint64 length, uint32 masked CRC-32C of the length bytes, the data, uint32
masked CRC-32C of the data (little-endian; mask: rotate right 15, add 0xa282ead8).  The data is
an Event (tensorflow/core/util/event.proto): wall_time 1 (double), step 2 (int64), file_version 3
(string), summary 5 (Summary: repeated Value value 1; Value: tag 1 (string), simple_value 2
(float), node_name 7), session_log 6 (SessionLog: status 1).  The protobuf wire format is decoded
here by hand, and the CRCs come from the crc32c package (PyPI), so that a wrong field number or
CRC in our writer shows as a difference.

  read_tfevents.py FILE...   prints one JSON object per event
"""
import json
import struct
import sys

import crc32c


class CorruptRecord(Exception):
    pass


def masked(data):
    crc = crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob):
    at = 0
    while at < len(blob):
        if at + 12 > len(blob):
            raise CorruptRecord(f"truncated header at byte {at}")
        header = blob[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[at + 8:at + 12])
        if length_crc != masked(header):
            raise CorruptRecord(f"length CRC mismatch at byte {at}")
        data = blob[at + 12:at + 12 + length]
        if len(data) != length or at + 16 + length > len(blob):
            raise CorruptRecord(f"truncated record at byte {at}")
        (data_crc,) = struct.unpack("<I", blob[at + 12 + length:at + 16 + length])
        if data_crc != masked(data):
            raise CorruptRecord(f"data CRC mismatch at byte {at}")
        yield data
        at += 16 + length


def varint(buf, at):
    value, shift = 0, 0
    while True:
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def fields(buf):
    """(field number, wire type, value) of every field of one message."""
    at = 0
    while at < len(buf):
        key, at = varint(buf, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(buf, at)
        elif wire == 1:
            value, at = buf[at:at + 8], at + 8
        elif wire == 2:
            n, at = varint(buf, at)
            value, at = buf[at:at + n], at + n
        elif wire == 5:
            value, at = buf[at:at + 4], at + 4
        else:
            raise CorruptRecord(f"wire type {wire}")
        yield number, wire, value


def event(data):
    out = {"wall_time": None, "step": 0}
    for number, wire, value in fields(data):
        if number == 1 and wire == 1:
            out["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2 and wire == 0:
            out["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3 and wire == 2:
            out["file_version"] = value.decode()
        elif number == 5 and wire == 2:
            scalars = {}
            for n, w, v in fields(value):
                if n != 1 or w != 2:
                    continue
                tag, simple = None, None
                for vn, vw, vv in fields(v):
                    if vn == 1 and vw == 2:
                        tag = vv.decode()
                    elif vn == 2 and vw == 5:
                        simple = struct.unpack("<f", vv)[0]
                scalars[tag] = simple
            out["scalars"] = scalars
        elif number == 6 and wire == 2:
            out["session_log"] = {"status": dict((n, v) for n, w, v in fields(value) if n == 1).get(1, 0)}
    return out


def read(path):
    with open(path, "rb") as f:
        return [event(r) for r in records(f.read())]


if __name__ == "__main__":
    for p in sys.argv[1:]:
        for e in read(p):
            print(json.dumps(e))
