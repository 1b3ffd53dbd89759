"""The one bounded reader (and link-safe writer) for every file a user or a folder hands the engine.

A path may be a FIFO (a read never ends), a device (`/dev/zero` never ends), a socket, a folder, a symbolic
link out of its folder, or a sparse file of many GiB. Every reader here:

- opens without following a final symbolic link (`O_NOFOLLOW`) where `follow_links=False`, and without blocking
  (`O_NONBLOCK`), then looks at what it opened (`fstat`): anything but a regular file is refused;
- reads at most `max_bytes` (a file larger than that is refused before a byte is read);
- for JSON, refuses nesting deeper than `max_depth` before parsing (a 100,000-deep nesting gives a clear
  error, never a RecursionError), numbers of thousands of digits, NaN/Infinity and invalid UTF-8.

Every refusal is one `UnreadableFileError` (a ValueError, so the CLI prints it as one line and exits 2) whose
message names the file. `open_for_write_in` opens a regular file for writing inside a folder without following
links (neither the file nor the folder may be a link).
"""
from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 1 << 20   # configs, manifests and cards are a few kB
MAX_JSON_DEPTH = 64        # no config, manifest or card the engine reads nests more than a handful of levels
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_SPECIAL_CHARS = ('"', "\\", "[", "]", "{", "}")
_JSON_SPECIAL = re.compile(r'["\\\[\]{}]')


class UnreadableFileError(ValueError):
    """A file that is not a regular file, is too large, a link where none is followed, or holds bad JSON."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def open_regular(path: str | os.PathLike, what: str = "file", follow_links: bool = True) -> int:
    """A read-only file descriptor of `path`, which must be a regular file; never blocks on a FIFO.

    With `follow_links=False` a final symbolic link is refused. The caller closes the descriptor."""
    path = Path(path)
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC | (0 if follow_links else _NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UnreadableFileError(f"{path}: {what} not found") from None
    except OSError as exc:
        if not follow_links and os.path.islink(path):
            raise UnreadableFileError(f"{path}: the {what} is a symbolic link, which is not followed here; "
                                      "replace it with the file itself") from None
        if os.path.isdir(path):
            raise UnreadableFileError(f"{path}: the {what} is a folder; only regular files are read") from None
        raise UnreadableFileError(f"{path}: cannot read the {what} ({_why(exc)})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableFileError(f"{path}: the {what} is {_kind(mode)}; only regular files are read")
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: str | os.PathLike, max_bytes: int, what: str = "file", follow_links: bool = True) -> bytes:
    """The bytes of the regular file `path`, refused (UnreadableFileError) above `max_bytes`."""
    path = Path(path)
    fd = open_regular(path, what, follow_links)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise UnreadableFileError(f"{path}: the {what} is {size:,} bytes, more than the {max_bytes:,} such a "
                                      "file may hold")
        chunks, total = [], 0
        while total <= max_bytes:  # the file may grow while read: never read past the bound
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot read the {what} ({_why(exc)})") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise UnreadableFileError(f"{path}: the {what} is larger than {max_bytes:,} bytes")
    return b"".join(chunks)


def read_text(path: str | os.PathLike, max_bytes: int, what: str = "file", follow_links: bool = True) -> str:
    data = read_bytes(path, max_bytes, what, follow_links)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(f"{path}: the {what} is not UTF-8 text ({exc.reason})") from None


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """True if the brackets of JSON `text` (outside strings) nest deeper than `max_depth`; linear, no recursion."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    depth, in_string, escaped = 0, False, False
    for m in _JSON_SPECIAL.finditer(text):  # only quotes, backslashes and brackets are looked at
        ch = m.group()
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = text[m.end():m.end() + 1] in _SPECIAL_CHARS  # the escaped char is the next match
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(text: str, source: str | os.PathLike, what: str = "file", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON `text` read from `source` with the depth bound; every failure is one UnreadableFileError."""
    if json_depth_exceeds(text, max_depth):
        raise UnreadableFileError(f"{source}: the {what} nests deeper than {max_depth} levels; it is not a file "
                                  "this program wrote")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(f"{source}: the {what} is not valid JSON ({exc})") from None
    except RecursionError:  # the depth check above should make this unreachable
        raise UnreadableFileError(f"{source}: the {what} nests too deeply") from None
    except ValueError as exc:  # numbers of more than 4300 digits, NaN / Infinity
        raise UnreadableFileError(f"{source}: the {what} holds an invalid number "
                                  f"({str(exc).splitlines()[0][:120]})") from None


def read_json(path: str | os.PathLike, max_bytes: int = MAX_JSON_BYTES, what: str = "file",
              max_depth: int = MAX_JSON_DEPTH, follow_links: bool = True, expect: type | None = None) -> Any:
    """JSON from a regular file of at most `max_bytes`, nesting at most `max_depth`; `expect` (dict, list)
    refuses another top-level type."""
    obj = parse_json(read_text(path, max_bytes, what, follow_links), path, what, max_depth)
    if expect is not None and not isinstance(obj, expect):
        names = {dict: "a JSON object", list: "a JSON list"}
        raise UnreadableFileError(f"{path}: the {what} should hold {names.get(expect, expect.__name__)}, "
                                  f"found {type(obj).__name__}")
    return obj


def open_for_write_in(folder: str | os.PathLike, name: str, mode: int = 0o666, truncate: bool = True,
                      exclusive: bool = False) -> int:
    """A write descriptor of the regular file `folder/name`, created if missing, never through a link.

    The folder itself must not be a symbolic link and `name` must be a plain name (no separators); a file
    that exists as a link, FIFO, device or folder is refused (UnreadableFileError). With `exclusive` an
    existing file is refused (FileExistsError). The caller closes the descriptor."""
    folder = Path(folder)
    if not name or name in (".", "..") or "/" in name or (os.sep != "/" and os.sep in name):
        raise UnreadableFileError(f"{folder}: {name!r} is not a plain file name")
    dir_flags = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
    try:
        dfd = os.open(folder, dir_flags)
    except OSError as exc:
        if os.path.islink(folder):
            raise UnreadableFileError(f"{folder}: the folder is a symbolic link, which is not followed here") from None
        raise UnreadableFileError(f"{folder}: cannot open the folder ({_why(exc)})") from None
    flags = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC
    flags |= os.O_EXCL if exclusive else 0
    try:
        try:
            fd = os.open(name, flags, mode, dir_fd=dfd)
        except FileExistsError:
            raise
        except OSError as exc:
            target = folder / name
            if os.path.islink(target):
                raise UnreadableFileError(f"{target}: is a symbolic link, which is never written through; remove "
                                          "it") from None
            if os.path.isdir(target):
                raise UnreadableFileError(f"{target}: is a folder, not a file") from None
            raise UnreadableFileError(f"{target}: cannot write ({_why(exc)})") from None
    finally:
        os.close(dfd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFileError(f"{folder / name}: is {_kind(st.st_mode)}; only regular files are written")
        if _NONBLOCK:
            os.set_blocking(fd, True)
        if truncate:
            os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return fd
