import os
import stat

from engine.atomic import atomic_write_bytes


def test_atomic_write_replaces_content_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_new_files_get_normal_permissions_and_existing_modes_are_kept(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    fresh = atomic_write_bytes(tmp_path / "fresh.png", b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask != 0o600
    kept = tmp_path / "kept.png"
    kept.write_bytes(b"y")
    kept.chmod(0o640)
    atomic_write_bytes(kept, b"z")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
