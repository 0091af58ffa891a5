"""Operator log lines carry their structured fields."""

from __future__ import annotations

import logging

from adapters.logs import FieldsFormatter


def test_extra_fields_follow_the_message() -> None:
    record = logging.makeLogRecord({"msg": "inbox item done", "levelname": "INFO",
                                    "inbox_id": 7, "reason": "loop-guard: dsn"})
    line = FieldsFormatter("%(levelname)s %(message)s").format(record)
    assert line == 'INFO inbox item done inbox_id=7 reason="loop-guard: dsn"'


def test_a_plain_record_is_unchanged() -> None:
    record = logging.makeLogRecord({"msg": "ready", "levelname": "INFO"})
    assert FieldsFormatter("%(message)s").format(record) == "ready"
