"""Run an iterator ahead in a background thread, bounded: decoding overlaps with the work on each item.

    for frame in prefetch(iter_frames("face.mp4"), depth=16):   # PyAV releases the GIL while decoding
        ...

At most ``depth`` items wait in memory. An exception raised by the iterator is raised in the caller at
the position where it happened. When the caller stops early (break, exception, cancel), the thread stops
at its next item and the iterator is closed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


def prefetch(items: Iterable[T], depth: int = 16) -> Iterator[T]:
    """Yield the items of ``items`` in order, produced by a daemon thread up to ``depth`` ahead."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as error:  # handed to the consumer, raised there
            put(_Raised(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join(timeout=5.0)
