"""Fixtures for the delegation library's tests.

`reference` is one long-lived `node scripts/conformance/reference.mjs --serve` child for the whole
session: each hypothesis example is one JSON line out and one line back, so comparing with
MetaMask's JS costs microseconds per example instead of a node start-up each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cyphera.delegation import FrameworkAddresses

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_SCRIPT = REPO_ROOT / "scripts" / "conformance" / "reference.mjs"
DELEGATION_CORE = REPO_ROOT / "node_modules" / "@metamask" / "delegation-core"


class ReferenceFailed(Exception):
    """delegation-core threw; the message is its error message."""


def big(value: int) -> dict[str, str]:
    """Tag an int as a JS bigint for the reference script."""
    return {"$bigint": str(value)}


def to_js(value: Any) -> Any:
    """bytes → 0x-hex, recursively; everything else as is (ints stay JS numbers unless `big`)."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [to_js(item) for item in value]
    if isinstance(value, dict):
        return {key: to_js(item) for key, item in value.items()}
    return value


def _from_js(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$bigint"}:
            return int(value["$bigint"])
        return {key: _from_js(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_js(item) for item in value]
    return value


class Reference:
    """A line-oriented client for the reference child process."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    def call(self, fn: str, *args: Any) -> Any:
        """``delegation-core[fn](*args)``; raises `ReferenceFailed` if the JS function threw."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps({"fn": fn, "args": to_js(list(args))}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the reference process exited")
        reply = json.loads(line)
        if not reply["ok"]:
            raise ReferenceFailed(reply["error"])
        return _from_js(reply["result"])


@pytest.fixture(scope="session")
def reference() -> Iterator[Reference]:
    node = shutil.which("node")
    if node is None or not DELEGATION_CORE.exists():
        pytest.fail("node and node_modules/@metamask/delegation-core are needed: run `npm ci`")
    process = subprocess.Popen(
        [node, str(REFERENCE_SCRIPT), "--serve"],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    )
    try:
        yield Reference(process)
    finally:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@pytest.fixture(scope="session")
def framework() -> FrameworkAddresses:
    """MetaMask's production v1.3.0 deployment (the same on every listed chain)."""
    return FrameworkAddresses(
        delegation_manager="0xdb9B1e94B5b69Df7e401DDbedE43491141047dB3",
        entry_point="0x0000000071727De22E5E9d8BAf0edAc6f37da032",
        simple_factory="0x69Aa2f9fe1572F1B640E1bbc512f5c3a734fc77c",
        hybrid_delegator_impl="0x48dBe696A4D990079e039489bA2053B36E8FFEC4",
        eip7702_stateless_delegator_impl="0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B",
        enforcers={
            "ERC20PeriodTransferEnforcer": "0x474e3Ae7E169e940607cC624Da8A15Eb120139aB",
            "ValueLteEnforcer": "0x92Bf12322527cAA612fd31a0e810472BBB106A8F",
            "NonceEnforcer": "0xDE4f2FAC4B3D87A1d9953Ca5FC09FCa7F366254f",
            "TimestampEnforcer": "0x1046bb45C8d673d4ea75321280DB34899413c069",
            "RedeemerEnforcer": "0xE144b0b2618071B4E56f746313528a669c7E65c5",
            "AllowedCalldataEnforcer": "0xc2b0d624c1c4319760C96503BA27C347F3260f55",
            "LimitedCallsEnforcer": "0x04658B29F6b82ed55274221a06Fc97D318E25416",
        },
    )
