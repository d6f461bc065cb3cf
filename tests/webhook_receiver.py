"""A webhook receiver in a process of its own, for the process tests: it verifies every delivery
with the ``standardwebhooks`` library and appends what it got to a file, one JSON line each.

``python -m tests.webhook_receiver OUT PORT_FILE`` with ``$RECEIVER_SECRETS`` a JSON object of
URL path -> secret (a tenant each). Each line of ``OUT``: ``{"path", "id", "event"}`` for a
delivery it verified and took, ``{"path", "refused": reason}`` for one whose signature did not
hold. It answers 204, or the status written in ``OUT.status`` when that file exists (a test
makes it fail, then fixes it); the line is written before the answer, so what it took is never
lost. It writes its port to ``PORT_FILE`` once it listens.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks import Webhook, WebhookVerificationError

SECRETS: dict[str, str] = json.loads(os.environ.get("RECEIVER_SECRETS", "{}"))
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("received.jsonl")
WRITING = threading.Lock()


def status() -> int:
    try:
        return int(Path(f"{OUT}.status").read_text())
    except (OSError, ValueError):
        return 204


def keep(line: dict[str, object]) -> None:
    with WRITING, OUT.open("a") as file:
        file.write(json.dumps(line) + "\n")
        file.flush()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        secret = SECRETS.get(self.path)
        try:
            if secret is None:
                raise WebhookVerificationError(f"no tenant at {self.path}")
            event = Webhook(secret).verify(body, dict(self.headers.items()))
        except WebhookVerificationError as error:
            keep({"path": self.path, "refused": str(error)})
            code = 401
        else:
            code = status()
            if 200 <= code < 300:
                keep({"path": self.path, "id": self.headers["webhook-id"], "event": event})
        self.send_response(code)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_file = Path(sys.argv[2])
    port_file.with_suffix(".tmp").write_text(str(server.server_address[1]))
    port_file.with_suffix(".tmp").rename(port_file)
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
