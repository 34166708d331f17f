"""Run several item streams on worker threads; hand their items out in source order.

The engine's decode workers: each source is one recording's stream of events, read on one of
N threads while the caller (the model) consumes. The caller sees exactly the sequence it would
see reading the sources one after the other, so batches, and with them the stored numbers,
do not depend on the number of workers or on timing. Memory is bounded: at most
`max_buffered` counted items wait in all buffers together, plus a couple for the source the
caller is reading (it may always go on, so the budget can never deadlock).

Threads suit this work: ffmpeg decodes in its own process, and file reads, numpy's casts and
copies, and hashing release the GIL. Dagster-free.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
# Items the source at the head may buffer beyond the shared budget.
HEAD_DEPTH = 2


class _Channel(Generic[T]):
    __slots__ = ("done", "error", "items")

    def __init__(self) -> None:
        self.items: deque[tuple[T, bool]] = deque()
        self.done = False
        self.error: BaseException | None = None


class _Prefetcher(Generic[T]):
    def __init__(
        self,
        sources: Sequence[Callable[[], Iterator[T]]],
        workers: int,
        max_buffered: int,
        counts: Callable[[T], bool],
        name: str,
    ) -> None:
        self._sources = sources
        self._channels: list[_Channel[T]] = [_Channel() for _ in sources]
        self._max_buffered = max(1, max_buffered)
        self._counts = counts
        self._cond = threading.Condition()
        self._next_source = 0
        self._head = 0
        self._buffered = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{number}", daemon=True)
            for number in range(min(workers, len(sources)))
        ]
        for thread in self._threads:
            thread.start()

    @property
    def buffered(self) -> int:
        return self._buffered

    def _claim(self) -> int | None:
        with self._cond:
            if self._closed or self._next_source >= len(self._sources):
                return None
            self._next_source += 1
            return self._next_source - 1

    def _may_put(self, position: int, channel: _Channel[T]) -> bool:
        if self._buffered < self._max_buffered:
            return True
        return position == self._head and len(channel.items) < HEAD_DEPTH

    def _work(self) -> None:
        while (position := self._claim()) is not None:
            channel = self._channels[position]
            iterator: Iterator[T] | None = None
            try:
                iterator = iter(self._sources[position]())
                for item in iterator:
                    counted = self._counts(item)
                    with self._cond:
                        while not self._closed and counted and not self._may_put(position, channel):
                            self._cond.wait()
                        if self._closed:
                            return
                        channel.items.append((item, counted))
                        self._buffered += counted
                        self._cond.notify_all()
            except BaseException as err:  # handed to the consumer, raised in its thread
                channel.error = err
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()  # a generator's cleanup (an ffmpeg process) runs now
                with self._cond:
                    channel.done = True
                    self._cond.notify_all()

    def _take(self, position: int) -> tuple[bool, T | None]:
        """(True, item) for the next item of source `position`; (False, None) at its end."""
        channel = self._channels[position]
        with self._cond:
            while not channel.items and not channel.done:
                self._cond.wait()
            if channel.items:
                item, counted = channel.items.popleft()
                self._buffered -= counted
                self._cond.notify_all()
                return True, item
            if channel.error is not None:
                raise channel.error
            self._head = position + 1
            self._cond.notify_all()
            return False, None

    def __iter__(self) -> Iterator[T]:
        for position in range(len(self._channels)):
            while True:
                more, item = self._take(position)
                if not more:
                    break
                yield item  # type: ignore[misc]  # set whenever `more` is True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()


def ordered_prefetch(
    sources: Sequence[Callable[[], Iterator[T]]],
    workers: int,
    max_buffered: int,
    counts: Callable[[T], bool] = lambda _item: True,
    name: str = "prefetch",
) -> Generator[T, None, None]:
    """Every item of `sources[0]()`, then of `sources[1]()`, ..., read ahead by `workers` threads.

    `workers <= 0` reads each source in the calling thread, lazily (no thread, no read-ahead).
    Only items for which `counts(item)` is true count against `max_buffered`. An exception
    raised by a source reaches the caller where that source's items would have come. Closing
    the returned iterator stops the workers and closes their sources.
    """
    if workers <= 0:
        for source in sources:
            yield from source()
        return
    prefetcher = _Prefetcher(sources, workers, max_buffered, counts, name)
    try:
        yield from prefetcher
    finally:
        prefetcher.close()
