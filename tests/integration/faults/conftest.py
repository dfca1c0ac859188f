"""Fixtures of the fault tests: private Kafka clusters, brokers and PostgreSQL servers, and a report.

Each fault test prints its recovery times; they are also gathered into a "fault recovery" section at
the end of the pytest run, so CI logs show them without ``-s``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.faults.cluster import kafka_cluster, local_broker, local_postgres

__all__ = ["kafka_cluster", "local_broker", "local_postgres", "recovery_report"]

_LINES: list[str] = []


@pytest.fixture
def recovery_report(request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
                    ) -> Callable[[str, float | int | str], None]:
    """Record one figure of a fault test (printed now, in the run's summary and in the JUnit XML)."""

    def report(name: str, value: float | int | str) -> None:
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        line = f"{request.node.name}: {name} = {shown}"
        print(line)
        _LINES.append(line)
        record_property(name, value)

    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _LINES:
        terminalreporter.section("fault recovery")
        for line in _LINES:
            terminalreporter.write_line(line)
