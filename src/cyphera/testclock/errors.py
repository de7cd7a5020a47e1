"""Errors of ``/v1/test_clocks`` and of attaching a test clock."""

from __future__ import annotations

from cyphera.exceptions import Conflict, InvalidRequest, NotFound


class TestClockLiveMode(InvalidRequest):
    __test__ = False
    code = "test_clock_live_mode"


class TestClockNotFound(NotFound):
    __test__ = False
    code = "resource_missing"


class TestClockNotReady(Conflict):
    __test__ = False
    code = "test_clock_not_ready"


class FrozenTimeInvalid(InvalidRequest):
    code = "frozen_time_invalid"
