"""The committed generated code matches the .proto (regenerated into a temporary folder)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cyphera.config import project_root


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    root = project_root()
    subprocess.run([str(root / "scripts" / "gen_proto.sh"), str(tmp_path)], check=True, cwd=root)

    committed = root / "src" / "cyphera" / "signer" / "proto"
    fresh = tmp_path / "cyphera" / "signer" / "proto"
    names = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert names == sorted(
        p.relative_to(committed)
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    for name in names:
        assert (committed / name).read_bytes() == (fresh / name).read_bytes(), (
            f"{name} is stale: run scripts/gen_proto.sh"
        )
