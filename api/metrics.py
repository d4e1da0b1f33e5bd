"""Prometheus metrics of the API: documents from the metadata DB at scrape time, request latency in-process.

    metrics = install_metrics(app)     # its own registry, the latency middleware, the DB collector
    generate_latest(metrics.registry)  # what GET /metrics answers

Document counts are read from the database on every scrape (`DocumentCollector`, one aggregate query), never
counted in a process: OCR runs in pool worker processes or Celery workers on other machines, and every API
instance then reports the same truth. Request latency is the one in-process metric (`RequestTimer`); each API
process reports its own, as Prometheus expects of separate targets. A registry per app, not the global one,
so several apps in one test process do not clash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage.db import Database
from storage.errors import StorageUnavailable
from storage.models import Document, DocumentStatus, utcnow

PAGES_WINDOW = timedelta(minutes=10)
"""Pages digitized per minute are those of documents finished in this window, divided by its minutes."""
CONFIDENCE_BOUNDS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
"""Upper bounds of the OCR confidence buckets (confidences are 0–1)."""
LATENCY_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: fine below 100 ms (the target for a record), coarse up to the long downloads."""
DIGITIZED = (DocumentStatus.DONE.value, DocumentStatus.NEEDS_REVIEW.value)
"""Finished with a searchable PDF (a failed document's pages were not digitized)."""
WAITING = (DocumentStatus.QUEUED.value, DocumentStatus.PROCESSING.value)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
"""The route label of requests no route took (404s of made-up paths): their paths are never labels."""


@dataclass(frozen=True)
class DocumentCounts:
    """What the metadata DB says about all documents at one moment."""

    by_status: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    """Failed documents by error code."""
    recent_pages: int = 0
    """Pages of documents finished digitized (done or needs_review) since the window's start."""
    confidence_buckets: tuple[int, ...] = (0,) * (len(CONFIDENCE_BOUNDS) + 1)
    """Documents with a mean OCR confidence per bucket (not cumulative; the last one is above 1.0)."""
    confidence_sum: float = 0.0

    @property
    def queue_depth(self) -> int:
        return sum(self.by_status.get(status, 0) for status in WAITING)


def count_documents(session: Session, *, since: datetime) -> DocumentCounts:
    """Every document counted in one pass of one GROUP BY query (a few dozen rows come back)."""
    confidence = Document.mean_ocr_confidence
    bucket = case(
        (confidence.is_(None), -1),
        *((confidence <= bound, index) for index, bound in enumerate(CONFIDENCE_BOUNDS)),
        else_=len(CONFIDENCE_BOUNDS),
    )
    failure = case((Document.status == DocumentStatus.FAILED.value, func.coalesce(Document.error_code, "")))
    recent = case(
        (
            and_(Document.finished_at >= since, Document.status.in_(DIGITIZED)),
            func.coalesce(Document.page_count, 0),
        ),
        else_=0,
    )
    rows = select(
        Document.status.label("status"),
        failure.label("failure"),
        bucket.label("bucket"),
        recent.label("recent"),
        confidence.label("confidence"),
    ).subquery()
    # Grouped by the subquery's columns, so PostgreSQL does not have to match the CASE parameters twice.
    query = select(
        rows.c.status,
        rows.c.failure,
        rows.c.bucket,
        func.count(),
        func.coalesce(func.sum(rows.c.recent), 0),
        func.coalesce(func.sum(rows.c.confidence), 0.0),
    ).group_by(rows.c.status, rows.c.failure, rows.c.bucket)
    by_status: dict[str, int] = {}
    failures: dict[str, int] = {}
    buckets = [0] * (len(CONFIDENCE_BOUNDS) + 1)
    recent_pages, confidence_sum = 0, 0.0
    for status, failure_code, bucket_index, count, pages, summed in session.execute(query):
        by_status[status] = by_status.get(status, 0) + count
        if failure_code is not None:
            code = failure_code or "unknown"
            failures[code] = failures.get(code, 0) + count
        if bucket_index >= 0:
            buckets[bucket_index] += count
            confidence_sum += float(summed)
        recent_pages += int(pages)
    return DocumentCounts(by_status, failures, recent_pages, tuple(buckets), confidence_sum)


class DocumentCollector(Collector):
    """Document metrics read from the metadata DB on each scrape; a DB error raises `StorageUnavailable`
    (the API answers 503) instead of serving stale or partial numbers."""

    def __init__(self, database: Callable[[], Database], *, window: timedelta = PAGES_WINDOW) -> None:
        self._database = database
        """Called at scrape time: the app's services exist only once its lifespan started."""
        self._window = window

    def describe(self) -> Iterable[Metric]:
        """The metric names, without touching the DB (the registry checks them for clashes)."""
        return list(self._families(DocumentCounts(), query_seconds=0.0))

    def collect(self) -> Iterable[Metric]:
        started = time.perf_counter()
        try:
            with self._database().unit_of_work() as session:
                counts = count_documents(session, since=utcnow() - self._window)
        except SQLAlchemyError as exc:
            raise StorageUnavailable(f"metrics: the database did not answer ({type(exc).__name__})") from exc
        return list(self._families(counts, query_seconds=time.perf_counter() - started))

    def _families(self, counts: DocumentCounts, *, query_seconds: float) -> Iterator[Metric]:
        statuses = GaugeMetricFamily(
            "sohoa_documents", "Documents by status, from the metadata DB.", labels=["status"]
        )
        for status in DocumentStatus:
            statuses.add_metric([status.value], counts.by_status.get(status.value, 0))
        yield statuses
        yield GaugeMetricFamily(
            "sohoa_queue_depth",
            "Documents waiting for or in OCR (queued + processing), from the metadata DB.",
            value=counts.queue_depth,
        )
        failures = GaugeMetricFamily(
            "sohoa_failed_documents",
            "Documents in status failed by error code, from the metadata DB.",
            labels=["error_code"],
        )
        for code, count in sorted(counts.failures.items()):
            failures.add_metric([code], count)
        yield failures
        minutes = self._window.total_seconds() / 60
        yield GaugeMetricFamily(
            "sohoa_pages_digitized_per_minute",
            f"Pages of documents that finished done or needs_review in the last {minutes:g} minutes, "
            f"divided by {minutes:g} (from the metadata DB).",
            value=counts.recent_pages / minutes,
        )
        cumulative, buckets = 0, []
        for bound, count in zip((*CONFIDENCE_BOUNDS, float("inf")), counts.confidence_buckets, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
        yield HistogramMetricFamily(
            "sohoa_document_ocr_confidence",
            "Documents by their mean OCR confidence (0-1; documents not OCRed yet are not counted).",
            buckets=buckets,
            sum_value=counts.confidence_sum,
        )
        yield GaugeMetricFamily(
            "sohoa_metrics_query_seconds",
            "How long the metadata DB took to answer this scrape's document query.",
            value=query_seconds,
        )


def route_label(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/documents/{document_id}`), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED


class RequestTimer:
    """ASGI middleware: each HTTP request's time until its last byte was sent, by route, method and status
    class. The clock stops there, not when the app returns: work after the response (the audit append of
    request-scoped dependencies) is not what the client waits for. Exceptions count as 5xx."""

    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, sent_at = 500, None

        async def send_noting_status(message: Message) -> None:
            nonlocal status, sent_at
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                sent_at = time.perf_counter()

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            ended = sent_at if sent_at is not None else time.perf_counter()
            self.histogram.labels(route_label(scope), method, f"{status // 100}xx").observe(ended - started)


@dataclass(frozen=True)
class ApiMetrics:
    """The app's registry and its one in-process metric."""

    registry: CollectorRegistry
    requests: Histogram


def install_metrics(app: FastAPI) -> ApiMetrics:
    """Give `app` its own registry, the latency middleware and the document collector (call once, in
    `create_app`); the collector finds the DB in `app.state.services` at scrape time."""
    registry = CollectorRegistry()
    requests = Histogram(
        "sohoa_http_request_duration_seconds",
        "API request latency until the last byte was sent, by route template, method and status class "
        "(this API process only).",
        ["route", "method", "status"],
        buckets=LATENCY_BOUNDS,
        registry=registry,
    )
    registry.register(DocumentCollector(lambda: app.state.services.db))
    app.add_middleware(RequestTimer, histogram=requests)
    metrics = ApiMetrics(registry, requests)
    app.state.metrics = metrics
    return metrics


def get_metrics(request: Request) -> ApiMetrics:
    """The metrics installed on this app."""
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
