"""Protobuf's wire format by hand, for the scripts that write control
messages and fuzz seeds without the protobuf module (varints, and fields of
wire types 0, 1 and 2)."""
import struct


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, wire, value):
    """Field `number` of wire type 0 (varint), 1 (float64) or 2 (bytes)."""
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(value)
    if wire == 1:
        return key + struct.pack("<d", value)
    return key + varint(len(value)) + value
