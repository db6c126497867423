"""How the services write their logs: one line per record, starting with its UTC time in
ISO 8601, so that `jobnaut logs --since 10m` can tell when each line was written."""

from __future__ import annotations

import logging
import time
from typing import Any

LINE = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UtcIsoFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's loggers and the root logger (the app's own records), through one format."""
    handler = {"class": "logging.StreamHandler", "formatter": "line",
               "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": UtcIsoFormatter, "format": LINE}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": "INFO"},
        "loggers": {name: {"handlers": [], "level": "INFO", "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }
