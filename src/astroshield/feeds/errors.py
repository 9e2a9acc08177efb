"""Feed errors: one line each, safe to print (never a credential)."""

from __future__ import annotations


class FeedError(Exception):
    """A provider could not be used; the message says which and why in one line."""


class CredentialsError(FeedError):
    """The provider refused the credentials (401/403, or a failed login)."""


class RateLimitedError(FeedError):
    """The provider kept answering 429 after the waits it asked for."""


class ProviderError(FeedError):
    """The provider answered something that is not the data asked for (an HTML error page,
    an unexpected status, 5xx after every retry)."""


class UnreachableError(FeedError):
    """No answer at all (connection refused, DNS, timeouts) after every retry."""
