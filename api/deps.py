"""What routes declare they need, by type: the process's services, a DB session, the way in for work.

The ones that only read app state are `async` on purpose: a sync dependency costs a thread-pool hop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ingest.services import Services
from ingest.submit import Submitter


class Retrainer(Protocol):
    """Retrains the learned model after a confirmation, here (embedded) or on a worker, if due."""

    def retrain_if_due(self) -> None:
        """Retrain now or ask a worker to, when enough confirmations came in."""
        ...


async def get_services(request: Request) -> Services:
    """The services built at start-up."""
    services: Services = request.app.state.services
    return services


def get_session(services: Annotated[Services, Depends(get_services)]) -> Iterator[Session]:
    """A unit of work per request: committed on success, rolled back on error."""
    with services.db.unit_of_work() as session:
        yield session


async def get_submitter(request: Request) -> Submitter:
    """The one way in for submitted work, built at start-up."""
    submitter: Submitter = request.app.state.submitter
    return submitter


async def get_retrainer(request: Request) -> Retrainer:
    """The retrainer built at start-up."""
    retrainer: Retrainer = request.app.state.retrainer
    return retrainer


ServicesDep = Annotated[Services, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""Committed and closed when the route returns (not after the response is sent): the connection goes back
to the pool before the audit entry takes one, so 50 concurrent readers never wait on each other."""
SubmitterDep = Annotated[Submitter, Depends(get_submitter)]
RetrainerDep = Annotated[Retrainer, Depends(get_retrainer)]
