"""The matching worker records batches in a process of its own, which never outlives the worker."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.matching.notifications import deletion_return
from tests.integration.matching.stream_harness import StreamHarness


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.timeout(300)
def test_the_batch_process_dies_with_its_worker_and_a_new_worker_finishes_the_stream(
        harness: StreamHarness) -> None:
    worker = harness.start_worker()
    harness.produce(deletion_return(n, batch="parent") for n in range(20))
    harness.wait_until(lambda: harness.count("select count(*) from processed_event") == 20, 180,
                       "the first notifications")
    children = _children(worker.pid)  # the batch process, and multiprocessing's resource tracker
    spawned = [c for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    assert len(spawned) == 1, f"one batch process expected beside the worker, found {children}"

    harness.killed.add(worker.pid)
    os.kill(worker.pid, signal.SIGKILL)  # the worker alone, not its process group
    worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [c for c in children if _alive(c)], "a process outlived the worker that started it"

    harness.start_worker()
    harness.produce(deletion_return(n, batch="parent") for n in range(20, 40))
    harness.wait_until(lambda: harness.count("select count(*) from processed_event") == 40, 180, "the rest")
    assert harness.count("select count(*) from notification") == 40
