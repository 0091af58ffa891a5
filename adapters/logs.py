"""Operator logs: one line per event, `key=value` fields after the message (logfmt-like)."""

from __future__ import annotations

import logging
import sys

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class FieldsFormatter(logging.Formatter):
    """Appends the `extra=` fields of a record, so log lines can be grepped and parsed."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if fields:
            line += " " + " ".join(f"{key}={_value(value)}" for key, value in fields.items())
        return line


def _value(value: object) -> str:
    text = str(value)
    return f'"{text}"' if not text or any(c in text for c in ' ="') else text


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FieldsFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
