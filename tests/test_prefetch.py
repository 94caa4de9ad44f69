"""prefetch: same items in order, errors surface in the caller, the worker stops when the caller does."""

import threading
import time

import pytest

from kdphys.io.prefetch import prefetch


def test_items_arrive_in_order():
    assert list(prefetch(range(1000), depth=4)) == list(range(1000))


def test_error_is_raised_in_the_caller_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("broken frame")

    got = []
    with pytest.raises(ValueError, match="broken frame"):
        for item in prefetch(items()):
            got.append(item)
    assert got == [1, 2]


def test_worker_stops_and_closes_the_source_when_the_caller_breaks():
    closed = threading.Event()
    produced = []

    def items():
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    gen = prefetch(items(), depth=3)
    assert next(gen) == 0
    gen.close()
    assert closed.wait(2.0)
    time.sleep(0.2)
    assert len(produced) <= 3 + 3      # never ran far ahead of the consumer
