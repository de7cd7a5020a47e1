"""The private PostgreSQL cluster: where it may live, and the one-line errors when it cannot start."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cyphera.config import Settings, dev_database_url
from cyphera.db.cluster import ClusterError, LocalCluster, free_port, reachable_by_server
from cyphera.dev.stack import SERVER_STATE_ROOT, DevPaths, database_dir, forget


@pytest.fixture
def private_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="cyphera-private-"))
    yield folder
    forget(DevPaths(folder / ".cyphera"))


def test_a_private_folder_is_out_of_the_servers_reach_only_when_we_are_root(
    private_folder: Path,
) -> None:
    assert private_folder.stat().st_mode & 0o777 == 0o700
    # As root the server runs as `postgres`, who cannot enter a 0700 folder of root's.
    assert reachable_by_server(private_folder / "data") is (os.geteuid() != 0)
    private_folder.chmod(0o755)
    assert reachable_by_server(private_folder / "data") is True


def test_the_dev_cluster_moves_out_of_a_private_checkout_and_stays_there(
    private_folder: Path,
) -> None:
    paths = DevPaths(private_folder / ".cyphera")
    paths.home.mkdir()

    data = database_dir(paths)

    if os.geteuid() == 0:
        assert paths.postgres.is_symlink()
        assert data == paths.server_state / "data"
        assert data.is_relative_to(SERVER_STATE_ROOT)
        assert (paths.server_state / "checkout").read_text() == f"{paths.home.resolve()}\n"
        assert reachable_by_server(data)
    else:
        assert data == paths.postgres
    # Asked again (the next `make dev`), the same place.
    assert database_dir(paths).resolve() == data.resolve()

    forget(paths)
    assert not paths.home.exists()
    assert not paths.server_state.exists()


def test_a_cluster_made_by_another_postgresql_version_says_how_to_start_afresh(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "PG_VERSION").write_text("9\n")
    cluster = LocalCluster(data_dir=data, port=free_port())

    with pytest.raises(ClusterError) as raised:
        cluster.start()

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("this data folder was made by PostgreSQL 9")
    assert "apt-get install postgresql-9" in message
    assert "make clean" in message


def test_a_taken_port_is_refused_before_the_server_starts(pg_cluster: LocalCluster) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        elsewhere = LocalCluster(data_dir=pg_cluster.data_dir, port=port)

        with pytest.raises(ClusterError) as raised:
            elsewhere.start()

    assert str(raised.value) == (
        f"port {port} on 127.0.0.1 is taken by another program, so PostgreSQL cannot listen "
        f"there: stop that program, or pick another port "
        f"(e.g. `CYPHERA_DEV__DATABASE_PORT={port + 10} make dev`)"
    )


def test_another_clusters_server_on_our_port_is_not_taken_for_ours(
    pg_cluster: LocalCluster, tmp_path: Path
) -> None:
    # Another checkout's `make dev` answers on the port, as the same role: not our data.
    stranger = LocalCluster(data_dir=tmp_path / "data", port=pg_cluster.port)

    assert pg_cluster.serves_this_cluster() is True
    assert stranger.serves_this_cluster() is False
    with pytest.raises(ClusterError, match=f"port {pg_cluster.port} on 127.0.0.1 is taken"):
        stranger.start()


def test_the_database_url_follows_the_dev_port_unless_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CYPHERA_DATABASE__URL", raising=False)
    monkeypatch.setenv("CYPHERA_DEV__DATABASE_PORT", "54339")

    defaulted = Settings()

    assert defaulted.database.sqlalchemy_url() == dev_database_url(54339)
    assert defaulted.database_url_given is False

    monkeypatch.setenv("CYPHERA_DATABASE__URL", "postgresql+psycopg://app@db.internal:5432/app")
    given = Settings()

    assert given.database.sqlalchemy_url() == "postgresql+psycopg://app@db.internal:5432/app"
    assert given.database_url_given is True
