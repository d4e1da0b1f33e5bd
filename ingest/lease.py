"""Processing leases that prove they are alive: who holds a document (or one page), renewed on a heartbeat.

A task that holds a lease renews it every `lease_seconds / 4` from a background thread. Another task may
take the lease over when it was not renewed for `lease_seconds`, or at once when its process ran on this
host and is gone (a pool process killed, its task handed back by the parent). A holder whose lease was
taken records nothing: its heartbeat finds the lease gone and the work stops at the next page.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

import psutil

from ingest.errors import IngestError

log = logging.getLogger(__name__)

HELD_BY_PAGES = "pages"
"""`claimed_by` of a fanned-out document: no one task holds it, its pages have leases of their own."""
HEARTBEATS_PER_LEASE = 4
"""A lease is renewed this many times within `lease_seconds`: three missed beats are not yet a takeover."""


def this_process() -> str:
    """Names the running process among every worker machine: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Claimant:
    """Who asks for a lease: a Celery task in one process (task None: embedded mode, the machine's owner)."""

    task: str | None
    process: str = field(default_factory=this_process)


class LeaseLost(IngestError):
    """Another task took this lease over: stop, and record nothing (never reaches a document)."""

    code = "processing.lease_lost"


def process_gone(process: str | None) -> bool:
    """True when `process` ran on this host and has exited (or is a zombie): its lease is free at once."""
    if not process:
        return False
    host, _, pid = process.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        return psutil.Process(int(pid)).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; sohoa stores UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def may_take_over(
    *,
    held_by: str | None,
    held_process: str | None,
    heartbeat_at: datetime | None,
    claimant: Claimant,
    lease_seconds: float,
    now: datetime,
) -> bool:
    """Whether `claimant` may take a lease now held as described (held_by None: nobody holds it)."""
    if claimant.task is None or held_by is None:
        return True
    if held_by == claimant.task and held_process in (None, claimant.process):
        return True  # the same task again: a retry after a storage outage, or this very process
    if process_gone(held_process):
        return True
    if heartbeat_at is None:
        return True  # claimed before leases had heartbeats
    return (now - aware(heartbeat_at)).total_seconds() > lease_seconds


def heartbeat_interval(lease_seconds: float) -> float:
    """How often a holder renews its lease."""
    return lease_seconds / HEARTBEATS_PER_LEASE


class Heartbeat:
    """Renews a lease from a background thread while the work runs; `lost` once another task took it.

    `renew` returns False when the lease is no longer ours. A renewal that raises (the database restarting)
    is logged and tried again at the next beat: an outage shorter than the lease costs nothing. With
    `renew` None (embedded mode: no one else could take the document) nothing runs.
    """

    def __init__(self, renew: Callable[[], bool] | None, *, interval: float, name: str) -> None:
        self._renew = renew
        self._interval = interval
        self._name = name
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{name}", daemon=True)

    @property
    def lost(self) -> bool:
        """True once the lease was found taken over."""
        return self._lost.is_set()

    def check(self) -> None:
        """Raise `LeaseLost` if the lease was taken over (call between pages)."""
        if self._lost.is_set():
            raise LeaseLost(self._name)

    def __enter__(self) -> Heartbeat:
        if self._renew is not None:
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        assert self._renew is not None
        while not self._stop.wait(self._interval):
            try:
                alive = self._renew()
            except Exception as exc:  # the database going away for a while: try at the next beat
                log.warning("could not renew the lease of %s: %s", self._name, exc)
                continue
            if not alive:
                log.warning("the lease of %s was taken over; this result will be dropped", self._name)
                self._lost.set()
                return
