"""composer.atomic: whole files or none, with the mode a plain open() gives."""

from __future__ import annotations

import stat

import pytest

from composer.atomic import FILE_MODE, atomic_file


@pytest.mark.parametrize("sync", [False, True])
def test_the_finished_file_replaces_the_old_one_with_an_ordinary_mode(tmp_path, sync):
    path = tmp_path / "deep" / "piece.mid"
    with atomic_file(path, sync=sync) as handle:
        handle.write(b"first")
    with atomic_file(path, sync=sync) as handle:
        handle.write(b"second")
        assert path.read_bytes() == b"first"  # the old file stays whole until the new one is
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE  # 0644 under the usual umask, not 0600
    assert [p.name for p in path.parent.iterdir()] == ["piece.mid"]


def test_an_error_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "mix.json"
    path.write_bytes(b"kept")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_file(path) as handle:
            handle.write(b"half")
            raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"kept" and [p.name for p in tmp_path.iterdir()] == ["mix.json"]
