"""`cadis import-video`: a video written by OpenCV becomes CaDIS-layout frames named by their index in the video."""
import json
import os
import re

import cv2
import numpy as np
import pytest

from engine.cli import main as cli_main
from engine.imageio import read_image
from engine.video import VideoReadError, import_video, probe_video

W, H, N = 64, 48, 24


def _write_video(path, fourcc="MJPG", n=N):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (W, H))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for i in range(n):
        frame = np.full((H, W, 3), 10 * i, np.uint8)  # the frame's index is its grey level / 10
        writer.write(frame)
    writer.release()
    return path


def _index_of(image):
    return int(round(float(image.mean()) / 10))


def _frames(root, video=1):
    folder = root / f"Video{video:02d}" / "Images"
    out = {}
    for name in sorted(os.listdir(folder)):
        m = re.fullmatch(rf"Video{video}_frame(\d{{6}})\.png", name)
        assert m, name
        out[int(m.group(1))] = _index_of(read_image(folder / name))
    return out


@pytest.mark.parametrize("fourcc,suffix", [("MJPG", ".avi"), ("mp4v", ".mp4")])
def test_opencv_video_imports_to_cadis_names_and_frame_numbers(tmp_path, fourcc, suffix):
    src = _write_video(tmp_path / f"surgery{suffix}", fourcc)
    before = src.read_bytes()
    result = import_video(src, tmp_path / "data", every=5, video_number=3)
    frames = _frames(tmp_path / "data", 3)
    assert sorted(frames) == [0, 5, 10, 15, 20] == result.written
    assert all(frames[k] == k for k in frames), frames  # each file holds the frame of its number
    manifest = json.loads((tmp_path / "data" / "video_import.json").read_text())
    assert manifest["videos"]["3"]["frames"] == [0, 5, 10, 15, 20]
    assert (tmp_path / "data" / "Video03" / "Labels").is_dir()  # a complete CaDIS layout, no label yet
    from engine.project.folder_guard import check_folder

    assert check_folder(tmp_path / "data").looks_like_dataset
    assert src.read_bytes() == before


def test_a_finer_step_later_adds_only_the_missing_frames(tmp_path):
    src = _write_video(tmp_path / "s.avi")
    out = tmp_path / "data"
    import_video(src, out, every=10)
    first = (out / "Video01" / "Images" / "Video1_frame000010.png").stat().st_mtime_ns
    result = import_video(src, out, every=2, start=4, end=14)
    assert result.written == [4, 6, 8, 12, 14] and result.present == [10]
    assert (out / "Video01" / "Images" / "Video1_frame000010.png").stat().st_mtime_ns == first
    assert sorted(_frames(out)) == [0, 4, 6, 8, 10, 12, 14, 20]
    assert all(v == k for k, v in _frames(out).items())


def test_another_video_may_not_take_a_used_number(tmp_path):
    out = tmp_path / "data"
    import_video(_write_video(tmp_path / "a.avi"), out, every=10)
    with pytest.raises(ValueError, match="another video"):
        import_video(_write_video(tmp_path / "b.avi", n=12), out, every=10)
    import_video(tmp_path / "b.avi", out, every=10, video_number=2)
    assert sorted(_frames(out, 2)) == [0, 10]


@pytest.mark.parametrize("content", [b"", b"not a video at all\n" * 50, b"\x00\x00\x00\x18ftypmp42" + b"\x11" * 4000])
def test_non_video_or_corrupt_file_is_refused_in_one_line(tmp_path, capsys, content):
    bad = tmp_path / "surgery.mp4"
    bad.write_bytes(content)
    with pytest.raises(VideoReadError):
        probe_video(bad)
    assert cli_main(["import-video", str(bad), str(tmp_path / "out"), "--every", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cadis import-video:") and "\n" not in err
    assert not (tmp_path / "out").exists() and bad.read_bytes() == content


def test_fifo_is_refused_without_blocking(tmp_path, capsys):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "v.mp4"
    os.mkfifo(fifo)
    assert cli_main(["import-video", str(fifo), str(tmp_path / "out"), "--every", "5"]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_cli_writes_and_refuses_a_foreign_folder(tmp_path, capsys):
    src = _write_video(tmp_path / "s.avi")
    assert cli_main(["import-video", str(src), str(tmp_path / "d"), "--every", "8", "--quiet"]) == 0
    assert sorted(_frames(tmp_path / "d")) == [0, 8, 16]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    assert cli_main(["import-video", str(src), str(other), "--every", "8"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli_main(["import-video", str(src), str(tmp_path / "d2"), "--every", "0"]) == 2


def test_cancel_lists_exactly_the_frames_written(tmp_path):
    from engine.jobs import JobCancelled, JobContext

    src = _write_video(tmp_path / "s.avi")
    seen = []
    ctx = JobContext(progress=lambda f, m: seen.append(m), cancelled=lambda: len(seen) >= 3)
    with pytest.raises(JobCancelled):
        import_video(src, tmp_path / "d", every=1, ctx=ctx)
    manifest = json.loads((tmp_path / "d" / "video_import.json").read_text())
    assert manifest["videos"]["1"]["frames"] == sorted(_frames(tmp_path / "d")) == [0, 1, 2]
