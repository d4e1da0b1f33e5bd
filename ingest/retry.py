"""Exponential backoff with jitter for work that waits on unreachable storage (embedded pool and Celery)."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, cap: float, rng: random.Random | None = None) -> float:
    """Wait before retry `attempt` (0-based): 1, 2, 4 … seconds up to `cap`, times a jitter in [0.5, 1].

    The jitter spreads the retries of many documents that failed at the same moment (storage went down
    for all of them), so they do not all hit the store again in the same second.
    """
    ceiling = min(cap, 2.0**attempt)
    return ceiling * (rng or random).uniform(0.5, 1.0)


def retries_within(total_seconds: float, *, cap: float) -> int:
    """How many retries it takes for the shortest possible waits to add up to `total_seconds`."""
    waited, attempt = 0.0, 0
    while waited < total_seconds:
        waited += 0.5 * min(cap, 2.0**attempt)
        attempt += 1
    return attempt
