"""The exposition helpers: the multiprocess directory's life, and gauges set as whole tables."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from cyphera.kit.metrics import MULTIPROC_ENV, GaugeTable, multiprocess_directory


def test_several_processes_get_a_fresh_directory_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # TMPDIR, as Python read it
    with multiprocess_directory(2) as directory:
        assert directory is not None
        assert directory.parent == tmp_path
        assert os.environ[MULTIPROC_ENV] == str(directory)
        assert directory.is_dir()
    assert not directory.exists()
    assert MULTIPROC_ENV not in os.environ


def test_one_process_needs_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with multiprocess_directory(1) as directory:
        assert directory is None
        assert MULTIPROC_ENV not in os.environ


def test_an_operators_directory_is_used_as_it_is_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    with multiprocess_directory(4) as directory:
        assert directory is None
        assert os.environ[MULTIPROC_ENV] == str(tmp_path)
    assert tmp_path.is_dir()
    assert os.environ[MULTIPROC_ENV] == str(tmp_path)


def test_a_gauge_table_drops_the_series_no_longer_in_it() -> None:
    registry = CollectorRegistry()
    table = GaugeTable(Gauge("things", "Things.", ["kind"], registry=registry))

    table.update({("a",): 1.0, ("b",): 2.0})
    table.update({("b",): 3.0})

    text = generate_latest(registry).decode()
    assert 'things{kind="b"} 3.0' in text
    assert 'kind="a"' not in text
