"""Import job postings from a JSearch-style feed: client (HTTP), mapping (pure), service
(upsert into the database)."""

from jobnaut.app.importer.client import (
    ApiKeyRejected,
    FeedUnavailable,
    JSearchClient,
    JSearchError,
    RetryPolicy,
    UnexpectedResponse,
)
from jobnaut.app.importer.mapping import MappedJob, map_posting
from jobnaut.app.importer.service import ImportFailed, ImportResult, import_jobs, upsert_jobs

__all__ = [
    "ApiKeyRejected",
    "FeedUnavailable",
    "ImportFailed",
    "ImportResult",
    "JSearchClient",
    "JSearchError",
    "MappedJob",
    "RetryPolicy",
    "UnexpectedResponse",
    "import_jobs",
    "map_posting",
    "upsert_jobs",
]
