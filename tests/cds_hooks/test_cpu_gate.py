"""The CPU gate (cds_hooks/gate.py): one call's CPU-bound steps at a time, never held across a network wait."""

from __future__ import annotations

import threading
import time

import pytest

from cds_hooks.gate import CpuGate
from tests.cds_hooks.helpers import hello_request, ok_cards, order_request, toy_condition, toy_patient


def test_held_takes_the_gate_and_released_gives_it_back_for_the_wait():
    gate = CpuGate()
    with gate.held():
        assert gate._lock.locked()
        with gate.released():
            assert not gate._lock.locked()
        assert gate._lock.locked()
    assert not gate._lock.locked()


def test_released_outside_held_does_not_free_another_threads_gate():
    gate, inside, done = CpuGate(), threading.Event(), threading.Event()

    def holder():
        with gate.held():
            inside.set()
            done.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    assert inside.wait(5)
    try:
        with gate.released():  # this thread does not hold it: a no-op
            assert gate._lock.locked()
    finally:
        done.set()
        thread.join(5)
    assert not gate._lock.locked()


def test_an_error_during_the_wait_or_the_section_leaves_the_gate_free():
    gate = CpuGate()
    with pytest.raises(RuntimeError):
        with gate.held():
            with gate.released():
                raise RuntimeError("fetch failed")
    assert not gate._lock.locked()
    with gate.held():  # usable again, from this thread
        assert gate._lock.locked()


def test_a_call_waiting_on_its_fhir_server_does_not_block_other_calls(make_toy_app, ehr):
    """Call 1 fetches its conditions from a FHIR server that does not answer until released; call 2 (prefetch
    complete, nothing to fetch) must be answered meanwhile. Were the gate held across the fetch, call 2 would
    wait for call 1's 3 s deadline, and call 1 would no longer be waiting when call 2 returned."""
    toy = make_toy_app(deadline_s=3.0)
    ehr.add(toy_patient(), toy_condition("c1"))
    ehr.gated = {"Condition"}
    first: dict = {}
    slow = threading.Thread(target=lambda: first.setdefault("response", toy.app.test_client().post(
        "/cds-services/hello-patient", json=hello_request({"user": None}))))
    slow.start()
    try:
        _wait_for(lambda: any(call.path == "Condition" for call in ehr.calls))
        second = toy.app.test_client().post("/cds-services/order-echo", json=order_request())
        assert slow.is_alive(), "call 2 was answered only after call 1 stopped waiting on its FHIR server"
    finally:
        ehr.gate.set()
        slow.join(10)

    assert second.status_code == 200 and ok_cards(second)
    assert ok_cards(first["response"])[0]["summary"] == "Hello Alex!"


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.002)
