"""engine.files, the one bounded reader: FIFOs, devices, folders, links, huge and deeply nested files."""
from __future__ import annotations

import json
import os
import time

import pytest

from engine.files import UnreadableFileError, open_for_write_in, read_bytes, read_json, read_text


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "manifest.json"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(UnreadableFileError, match="FIFO"):
        read_json(fifo)
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("path, word", [("/dev/zero", "device"), ("/dev/null", "device")])
def test_a_device_is_refused(path, word):
    with pytest.raises(UnreadableFileError, match=word):
        read_bytes(path, 100)


def test_a_link_to_a_device_is_refused_and_a_link_is_not_followed_when_asked(tmp_path):
    link = tmp_path / "manifest.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(UnreadableFileError, match="device"):
        read_json(link)
    real = tmp_path / "real.json"
    real.write_text("{}")
    other = tmp_path / "other.json"
    other.symlink_to(real)
    assert read_json(other) == {}
    with pytest.raises(UnreadableFileError, match="symbolic link"):
        read_json(other, follow_links=False)


def test_a_folder_and_a_missing_file_are_one_error_class(tmp_path):
    with pytest.raises(UnreadableFileError, match="folder"):
        read_text(tmp_path, 10)
    with pytest.raises(UnreadableFileError, match="not found"):
        read_text(tmp_path / "nope", 10)


def test_a_sparse_huge_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "model_index.json"
    with open(big, "wb") as fh:
        fh.truncate(12 << 30)  # 12 GiB, sparse: nothing on disk
    start = time.monotonic()
    with pytest.raises(UnreadableFileError, match="more than"):
        read_json(big)
    assert time.monotonic() - start < 2


def test_json_nested_100000_deep_is_a_clear_error_not_recursion(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UnreadableFileError, match="nests deeper"):
        read_json(deep)
    objs = tmp_path / "objs.json"
    objs.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(UnreadableFileError, match="nests deeper"):
        read_json(objs)


def test_brackets_inside_strings_do_not_count_and_normal_json_reads(tmp_path):
    ok = tmp_path / "ok.json"
    data = {"name": "[[[[" * 100 + '\\"{{{' * 50, "list": [[1, 2], [3]], "nested": {"a": {"b": [1]}}}
    ok.write_text(json.dumps(data))
    assert read_json(ok, expect=dict) == data
    with pytest.raises(UnreadableFileError, match="should hold a JSON list"):
        read_json(ok, expect=list)


@pytest.mark.parametrize("text, word", [("NaN", "invalid number"), ("{", "not valid JSON"), ("1" * 5000, "invalid")])
def test_bad_json_is_one_error(tmp_path, text, word):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(UnreadableFileError, match=word):
        read_json(bad)


def test_non_utf8_text_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(UnreadableFileError, match="UTF-8"):
        read_json(bad)


def test_open_for_write_in_never_writes_through_a_link(tmp_path):
    victim = tmp_path / "thesis.txt"
    victim.write_text("precious")
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / ".lock").symlink_to(victim)
    with pytest.raises(UnreadableFileError, match="symbolic link"):
        open_for_write_in(folder, ".lock")
    assert victim.read_text() == "precious"
    linked_folder = tmp_path / "linked"
    linked_folder.symlink_to(folder)
    with pytest.raises(UnreadableFileError, match="symbolic link"):
        open_for_write_in(linked_folder, "x")
    os.mkfifo(folder / "fifo")
    with pytest.raises(UnreadableFileError):
        open_for_write_in(folder, "fifo")
    with pytest.raises(UnreadableFileError, match="plain file name"):
        open_for_write_in(folder, "../escape")
    fd = open_for_write_in(folder, "new.txt")
    try:
        os.write(fd, b"hello")
    finally:
        os.close(fd)
    assert (folder / "new.txt").read_text() == "hello"
    fd = open_for_write_in(folder, "new.txt")  # truncates a regular file
    os.close(fd)
    assert (folder / "new.txt").read_text() == ""
    with pytest.raises(FileExistsError):
        open_for_write_in(folder, "new.txt", exclusive=True)
