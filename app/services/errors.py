"""Typed errors services raise; views and the API turn them into a Chinese message and HTTP status."""
from __future__ import annotations


class DomainError(Exception):
    """A request that must change nothing; ``message`` is shown to the user as is."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class QueueUnavailable(DomainError):
    status = 503
