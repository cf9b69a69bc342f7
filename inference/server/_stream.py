"""Generation events from the scheduler thread to the event loop, and cancellation back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

from inference.generation import CausalModel, Generation, GenerationEvent, SamplingParams, Scheduler

__all__ = ["GenerationStream"]


class GenerationStream:
    """One request's generations (one per prompt), their events merged in arrival order.

    Events are put on an asyncio queue with ``call_soon_threadsafe``: the scheduler thread
    never waits for the event loop. ``cancel()`` (client gone, request failed) stops every
    generation at its next token.
    """

    def __init__(
        self,
        scheduler: Scheduler,
        model: CausalModel,
        prompts: Sequence[Sequence[int]],
        params: SamplingParams,
        on_finish: Callable[[GenerationEvent], None],
    ) -> None:
        self._on_finish = on_finish
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[int, GenerationEvent]] = asyncio.Queue()
        self.generations = [
            Generation(model, prompt, params, self._sink_for(index))
            for index, prompt in enumerate(prompts)
        ]
        self._open = len(self.generations)
        try:
            for generation in self.generations:
                scheduler.submit(generation)
        except BaseException:
            self.cancel()
            raise

    def _sink_for(self, index: int) -> Callable[[GenerationEvent], None]:
        def sink(event: GenerationEvent) -> None:
            if event.finish_reason is not None:
                self._on_finish(event)  # on this thread: counted even if nobody listens
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
                self._loop.call_soon_threadsafe(self._queue.put_nowait, (index, event))

        return sink

    async def events(self) -> AsyncIterator[tuple[int, GenerationEvent]]:
        """(choice index, event) until every generation has finished."""
        while self._open:
            index, event = await self._queue.get()
            if event.finish_reason is not None:
                self._open -= 1
            yield index, event

    def cancel(self) -> None:
        for generation in self.generations:
            generation.cancel()
