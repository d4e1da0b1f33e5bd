"""What routes declare they need, by type: the process's services, a DB session, the job queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ingest.services import Services


class Dispatcher(Protocol):
    """Hands a stored document to whatever processes documents in this mode."""

    def dispatch(self, document_id: str) -> None:
        """Start processing (embedded pool) or enqueue it (Celery)."""
        ...

    def retrain_if_due(self) -> None:
        """After a confirmation: retrain the learned model here (embedded) or on a worker, if due."""
        ...


def get_services(request: Request) -> Services:
    """The services built at start-up."""
    services: Services = request.app.state.services
    return services


def get_session(services: Annotated[Services, Depends(get_services)]) -> Iterator[Session]:
    """A unit of work per request: committed on success, rolled back on error."""
    with services.db.unit_of_work() as session:
        yield session


def get_dispatcher(request: Request) -> Dispatcher:
    """The dispatcher built at start-up."""
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


ServicesDep = Annotated[Services, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_session)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
