"""The app served by uvicorn in a thread of the test process, as scripts/run and deploy/ serve it.

The push streams (servicedesk/push.py) need an ASGI server: Django's live server is WSGI. The server
shares the test process (its settings, its test database, its push hub), so a test can take the push
channel down (``take_push_down``) and count what the hub delivered.
"""

import asyncio
import socket
import threading
import time
from contextlib import contextmanager

import uvicorn
from asgiref.sync import sync_to_async
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application
from django.db import connections

from servicedesk import push


class AsgiServer:
    def __init__(self, url: str, loop: asyncio.AbstractEventLoop):
        self.url = url
        self.loop = loop

    def hub(self):
        return push._hubs.get(self.loop)

    def take_push_down(self) -> None:
        """Drop this server's Redis subscription, as a Redis restart does: every stream is told at once."""
        hub = self.hub()
        if hub is not None:
            asyncio.run_coroutine_threadsafe(hub.close(), self.loop).result(timeout=10)


@contextmanager
def asgi_server():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        ASGIStaticFilesHandler(get_asgi_application()), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    # Under ASGI each request's database work runs in a thread of its own: persistent connections would
    # stay open in threads that are gone (Django's advice: CONN_MAX_AGE 0 under ASGI, as deploy/ sets it).
    kept_ages = {alias: connections.settings[alias].get("CONN_MAX_AGE") for alias in connections.settings}
    for alias in kept_ages:
        connections.settings[alias]["CONN_MAX_AGE"] = 0

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve(sockets=[sock]))

    thread = threading.Thread(target=serve, name="uvicorn", daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield AsgiServer(f"http://127.0.0.1:{port}", loop)
    finally:
        # The server's database sessions (opened in its sync_to_async thread) end before the test database is dropped.
        asyncio.run_coroutine_threadsafe(sync_to_async(connections.close_all)(), loop).result(timeout=10)
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        for alias, age in kept_ages.items():
            connections.settings[alias]["CONN_MAX_AGE"] = age
