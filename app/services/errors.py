"""Typed errors services raise; views and the API turn them into a Chinese message and HTTP status."""
from __future__ import annotations


class DomainError(Exception):
    """A request that must change nothing; ``message`` is shown to the user as is. ``field`` names the input
    the message is about, where a service knows it (an import puts the message in that column)."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class QueueUnavailable(DomainError):
    status = 503
