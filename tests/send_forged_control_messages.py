#!/usr/bin/env python3
"""Plays a stranger on the network against a running job's supervisor.

    send_forged_control_messages.py HOST:PORT

Sends three heartbeats that claim rank 1 with a metrics address of the
stranger's ("stranger:6666"): one bare (no secret), one sealed with a MAC
under a secret of its own, and one with a MAC of zeros; each on a connection
of its own.  Prints how many connections the supervisor closed on it.  The
protobuf encoding is written out by hand (protobuf_wire.py): the test needs
no protobuf module.
"""
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protobuf_wire import field, varint  # noqa: E402


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    heartbeat = field(1, 2, field(1, 0, 1) + field(3, 0, 999) + field(4, 2, b"forward") + field(8, 2, b"stranger") +
                      field(10, 2, b"stranger:6666"))
    sequence = int(time.time() * 1e6) + 10**9
    own_secret = os.urandom(32).hex().encode()
    mac = hmac.new(own_secret, b"rfm-control to-supervisor\n" + struct.pack("<Q", sequence) + heartbeat,
                   hashlib.sha256).digest()
    payloads = [heartbeat,
                field(1, 2, heartbeat) + field(2, 0, sequence) + field(3, 2, mac),
                field(1, 2, heartbeat) + field(2, 0, sequence) + field(3, 2, bytes(32))]
    closed = 0
    for payload in payloads:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(varint(len(payload)) + payload)
            try:
                closed += s.recv(4096) == b""
            except ConnectionResetError:
                closed += 1
    print(closed)


if __name__ == "__main__":
    main()
