"""Leaving a failed service alone for a while, per process.

Redis (broker and cache) and the reports replica are optional to a request: without
them the request still works (the outbox keeps notices, the board reads the database,
reports read the primary). But each attempt at a hung service waits for its socket or
connect timeout, so after a failure a process stops trying that service for a while:
an outage costs one request one timeout, not every request.
"""

import time


class Pause:
    """A per-process pause after a failure: ``active()`` for ``seconds`` after ``start()``."""

    instances: list["Pause"] = []

    def __init__(self, name: str, *, seconds: float = 30):
        self.name = name
        self.seconds = seconds
        self.until = 0.0
        Pause.instances.append(self)

    def active(self) -> bool:
        return time.monotonic() < self.until

    def start(self) -> None:
        self.until = time.monotonic() + self.seconds

    def end(self) -> None:
        self.until = 0.0

    @classmethod
    def end_all(cls) -> None:
        """Every pause over (the tests: a pause started by one test must not reach the next)."""
        for pause in cls.instances:
            pause.end()
