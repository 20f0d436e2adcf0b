"""The error hierarchy: every error alertd raises on purpose derives from AlertdError."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alertd.span import Span


class AlertdError(Exception):
    """Root of every error alertd raises deliberately; the CLI prints these without a traceback."""


class ConfigError(AlertdError):
    """A configuration file or value is invalid; the message names the key or path."""


class RuleError(AlertdError):
    """A rule file is invalid at a known place."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


class EvalError(AlertdError):
    """Evaluating an expression failed (a bad query answer, many-to-many matching...)."""


class NotifyError(AlertdError):
    """Delivering a notification failed; `retryable` says whether trying again can help.

    `retry_after` is the receiver's own wait (an HTTP Retry-After), in seconds.
    `ambiguous` says the request may have reached the receiver before the failure (a
    timeout after sending): a retry must first look whether it already arrived."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None,
                 ambiguous: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.ambiguous = ambiguous
