"""A conflict policy in Python that misbehaves on request, to test the
sandbox: `{"mode": "ok" | "loop" | "alloc" | "sleep" | "read-file" |
"read-env" | "socket" | "print" | "raise"}`. Built by the process tests
onto a `hubsync plugin new --lang python` scaffold."""

import os
import socket
import sys
import time

from hubsync_pdk import TAKE_HUB, ConflictPolicy, exports


class Hostile(ConflictPolicy):
    NAME = "hostile-python"
    VERSION = "0.1.0"
    DESCRIPTION = "Misbehaves on request, for sandbox tests."
    OPTIONS = {"mode": "ok"}

    def resolve(self, batch):
        mode = self.options.mode
        if mode == "loop":
            n = 0
            while True:
                n += 1
        if mode == "alloc":
            hoard = []
            while True:
                hoard.append(bytearray(1 << 20))
        if mode == "sleep":
            time.sleep(3600)
        if mode == "read-file":
            with open("/etc/passwd") as f:
                return [TAKE_HUB for _ in batch.conflicts] if f.read() else []
        if mode == "read-env":
            return [TAKE_HUB for _ in batch.conflicts] if os.environ["HOME"] else []
        if mode == "socket":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.connect(("127.0.0.1", 5432))
        if mode == "print":
            print("hostile-python was here, on stdout")
            print("hostile-python was here, on stderr", file=sys.stderr)
        if mode == "raise":
            raise RuntimeError("asked to fail")
        return [TAKE_HUB for _ in batch.conflicts]


WitWorld, ConflictResolver = exports(Hostile)
