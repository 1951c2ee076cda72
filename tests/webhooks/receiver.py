"""A real HTTP receiver on 127.0.0.1 (a threaded http.server), as another system would run one: it checks each
request's signature with its copy of the secret and keeps the event ids it has processed."""

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from webhooks.signing import SIGNATURE_HEADER, signature_verify


class Receiver:
    def __init__(self):
        self.secret = ""
        self.answer = 200  # the status every request gets (500: a failing receiver)
        self.requests = []  # (event id, body dict, signature valid)
        self.processed = Counter()  # event id -> times processed (a replayed id is not processed again)
        self.replayed = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                valid = signature_verify(
                    secret=receiver.secret,
                    header=self.headers.get(SIGNATURE_HEADER, ""),
                    body=body,
                    now=int(time.time()),
                )
                payload = json.loads(body)
                with receiver.lock:
                    receiver.requests.append((payload["id"], payload, valid))
                    status = receiver.answer if valid else 400
                    if status in (200, "process-then-500"):
                        if payload["id"] in receiver.processed:
                            receiver.replayed.append(payload["id"])
                        else:
                            receiver.processed[payload["id"]] += 1
                    if status == "process-then-500":
                        status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/servicedesk"

    def ids(self) -> list[str]:
        return [event_id for event_id, _payload, _valid in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
