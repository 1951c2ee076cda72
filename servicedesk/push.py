"""Telling open pages that something changed: Redis pub/sub in, server-sent events out.

The one way the project pushes to a browser. A service never talks to a socket: after its
transaction commits, code that already knows what changed (the board's version token,
``repairs/board_cache.py``) calls ``push_publish(topic=..., scopes=...)``. An open page holds
one server-sent-events stream (``push_stream``) on the scope its user may see, and on an
event it fetches its own rows again through its ordinary, scoped view. So an event carries
no data, only its topic: what a user sees is decided by the view, never by the stream, and
nothing of another unit travels on it.

- Scopes are strings chosen by the caller (the board: a unit's id, or ``all`` for head
  office); a stream listens on exactly one scope of one topic.
- One web process holds one Redis connection for all its streams (``_Hub``): it subscribes
  to every push channel of this deployment with one pattern and hands each message to the
  streams listening on that channel. Two hundred open boards cost one connection, not two
  hundred.
- Redis down, or the connection lost: every stream is told ``unavailable`` and ends; the page
  falls back to polling by itself and says so, and tries the stream again later. A change
  made meanwhile is not lost: the page reads its rows on every poll and on every reconnect.
  A failed publish or connect pauses push for this process (``servicedesk.pauses``), so an
  outage costs a change one socket timeout, not every change.
- Without ``REDIS_URL`` (the embedded default of ``scripts/run``) there is no push: streams
  say ``unavailable`` at once and the pages poll.
- Served by an ASGI server (uvicorn: ``servicedesk/asgi.py``), each stream is a coroutine
  waiting on a queue. Under WSGI a stream would hold a worker thread for its whole life, so
  the view refuses it there (``stream_response``) and the page polls.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable

import redis
import redis.asyncio
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse

from .pauses import Pause

log = logging.getLogger(__name__)

NAMESPACE = "push"  # the tests give each test its own
HEARTBEAT_SECONDS = 15  # a comment line this often: proxies keep the stream, a closed tab is noticed
STREAM_SECONDS = 300  # then the stream ends and the browser reconnects (its session is checked again)
RETRY_MS = 3000  # how long the browser waits before reconnecting a stream that ended
WATCH_SECONDS = 10  # how often the hub checks that Redis still answers
push_pause = Pause("push")

UNAVAILABLE = object()  # put on a stream's queue when the hub loses Redis


class PushUnavailable(Exception):
    pass


def _url() -> str:
    return settings.REDIS_URL


def _prefix() -> str:
    """Channels of this deployment (pub/sub ignores Redis's database number: it is part of the name)."""
    db = redis.connection.parse_url(_url()).get("db", 0)
    return f"{NAMESPACE}:{db}:"


def channel_name(*, topic: str, scope: str) -> str:
    return f"{_prefix()}{topic}:{scope}"


_publisher: redis.Redis | None = None
_publisher_url = ""


def _publisher_client() -> redis.Redis:
    global _publisher, _publisher_url
    url = _url()
    if _publisher is None or _publisher_url != url:
        _publisher = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, retry_on_timeout=False)
        _publisher_url = url
    return _publisher


def push_publish(*, topic: str, scopes: Iterable[str], data: dict | None = None) -> None:
    """Tell the pages listening on ``topic`` in each of ``scopes`` that it changed (call after commit)."""
    if not _url() or push_pause.active():
        return
    message = json.dumps({"topic": topic, **(data or {})})
    try:
        pipe = _publisher_client().pipeline(transaction=False)
        for scope in scopes:
            pipe.publish(channel_name(topic=topic, scope=scope), message)
        pipe.execute()
    except Exception:
        push_pause.start()
        log.warning("push unavailable: %s not published; pages poll for %s s", topic, push_pause.seconds, exc_info=True)


class _Hub:
    """This process's one Redis subscription, shared by every stream it serves (one event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queues: dict[str, set[asyncio.Queue]] = {}
        self.client: redis.asyncio.Redis | None = None
        self.pubsub = None
        self.task: asyncio.Task | None = None
        self.connecting = asyncio.Lock()
        self.delivered = 0  # messages handed to streams (bench/push.py, the tests)

    @property
    def connected(self) -> bool:
        return self.task is not None and not self.task.done()

    async def listen(self, channel: str) -> asyncio.Queue:
        async with self.connecting:
            if not self.connected:
                await self._connect()
        queue: asyncio.Queue = asyncio.Queue()
        self.queues.setdefault(channel, set()).add(queue)
        return queue

    def forget(self, channel: str, queue: asyncio.Queue) -> None:
        listening = self.queues.get(channel)
        if listening is not None:
            listening.discard(queue)
            if not listening:
                del self.queues[channel]

    async def _connect(self) -> None:
        if not _url() or push_pause.active():
            raise PushUnavailable
        client = redis.asyncio.Redis.from_url(
            _url(), socket_timeout=5, socket_connect_timeout=2, retry_on_timeout=False
        )
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(f"{_prefix()}*")
        except Exception as exc:
            push_pause.start()
            log.warning("push unavailable (subscribe); pages poll for %s s", push_pause.seconds, exc_info=True)
            await _close(pubsub, client)
            raise PushUnavailable from exc
        self.client, self.pubsub = client, pubsub
        self.task = self.loop.create_task(self._read())

    async def _read(self) -> None:
        next_check = self.loop.time() + WATCH_SECONDS
        try:
            while True:
                message = await self.pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "pmessage":
                    channel = message["channel"].decode()
                    for queue in self.queues.get(channel, ()):
                        queue.put_nowait(message["data"])
                        self.delivered += 1
                if self.loop.time() >= next_check:
                    # A hung Redis answers nothing, so a quiet subscription proves nothing: ask.
                    await asyncio.wait_for(self.client.ping(), timeout=3)
                    next_check = self.loop.time() + WATCH_SECONDS
        except asyncio.CancelledError:
            raise
        except Exception:
            push_pause.start()
            log.warning("push connection lost; open pages poll for %s s", push_pause.seconds, exc_info=True)
        finally:
            self._drop()
            await _close(self.pubsub, self.client)

    def _drop(self) -> None:
        """Every stream of this process is told the push is gone; their pages poll until it is back."""
        for listening in self.queues.values():
            for queue in listening:
                queue.put_nowait(UNAVAILABLE)
        self.queues = {}

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                log.debug("push hub closed", exc_info=True)


async def _close(pubsub, client) -> None:
    try:
        if pubsub is not None:
            await pubsub.aclose()
        if client is not None:
            await client.aclose()
    except Exception:
        log.debug("closing the push connection failed", exc_info=True)


_hubs: dict[asyncio.AbstractEventLoop, _Hub] = {}


def hub() -> _Hub:
    """The hub of the running event loop (one per web process under an ASGI server)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        for old in [old for old in _hubs if old.is_closed()]:
            del _hubs[old]
        found = _hubs[loop] = _Hub(loop)
    return found


def _event(name: str, data: str = "{}") -> str:
    return f"event: {name}\ndata: {data}\n\n"


async def push_stream(*, topic: str, scope: str) -> AsyncIterator[str]:
    """A server-sent-events stream of ``topic`` changes in ``scope``: ``ready``, then one event per change.

    Ends with ``unavailable`` when there is no push (the page then polls), or quietly after
    ``STREAM_SECONDS`` (the browser reconnects after ``RETRY_MS`` and reads its rows again).
    """
    channel = channel_name(topic=topic, scope=scope) if _url() else ""
    try:
        queue = await hub().listen(channel) if channel else None
    except PushUnavailable:
        queue = None
    if queue is None:
        yield _event("unavailable")
        return
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_SECONDS
    try:
        yield f"retry: {RETRY_MS}\n" + _event("ready")
        while (left := ends - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(queue.get(), timeout=min(HEARTBEAT_SECONDS, left))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if data is UNAVAILABLE:
                yield _event("unavailable")
                return
            yield _event(topic, data.decode() if isinstance(data, bytes) else data)
    finally:
        hub().forget(channel, queue)


def stream_response(request, *, topic: str, scope: str) -> HttpResponse:
    """The response of a view that streams ``topic`` in ``scope`` (the view has checked who may see the scope)."""
    if not isinstance(request, ASGIRequest):
        # Under WSGI a stream would hold a worker for its whole life: the page polls instead.
        body = _event("unavailable")
        return HttpResponse(body, content_type="text/event-stream", headers={"Cache-Control": "no-store"})
    return StreamingHttpResponse(
        push_stream(topic=topic, scope=scope),
        content_type="text/event-stream",
        # No buffering in the reverse proxy (deploy/nginx.conf), no caching anywhere.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
