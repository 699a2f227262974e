"""The floor for any Python native-messaging host: stdlib only, no validation, no storage.

It speaks the same frames as ``tuckaway-host`` (32-bit native length + UTF-8
JSON) and answers just enough for the benchmark's baselines:

* ``hello`` -> a reply shaped like tuckaway's (nothing looked up);
* any other op -> a ``queued`` event and then an ``ok`` reply echoing the
  request, i.e. the two frames a write costs on the wire, with no work between.

Run as ``python bench/echo_host.py`` with the same interpreter as the host it is
compared with. It imports only ``sys``, ``json`` and ``struct``.
"""

import json
import struct
import sys

_HEADER = struct.Struct("=I")


def main() -> int:
    read = sys.stdin.buffer.read
    out = sys.stdout.buffer
    while True:
        header = read(4)
        if len(header) < 4:
            return 0
        (length,) = _HEADER.unpack(header)
        message = json.loads(read(length))
        rid = message.get("id")
        if message.get("op") == "hello":
            replies = [
                {
                    "id": rid,
                    "ok": True,
                    "result": {"name": "echo", "version": "0", "protocol": 1, "backend": "none"},
                }
            ]
        else:
            replies = [{"id": rid, "event": "queued"}, {"id": rid, "ok": True, "result": message}]
        for reply in replies:
            body = json.dumps(reply, separators=(",", ":")).encode("utf-8")
            out.write(_HEADER.pack(len(body)) + body)
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
