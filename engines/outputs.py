"""What every command writes: never onto what it reads, and never a half file under the final name.

    check_outputs([("--csv", "out.csv"), ("--render", "renders/"), ("--render", "renders/a.mp4")],
                  inputs=["clips/a.mp4", "models/bundle/"], input_folders=["clips/"])

refuses, in one line (exit 2) and before anything is written:
- an output file that is an input file (the same file by any path: links, '..', another spelling), or an
  existing file beneath a folder that is read whole (`inputs`: a data folder, an engine bundle);
- an output folder that is an input folder (`inputs`, or `input_folders`: the folders whose files the command
  picks, given with those files in `inputs`), or lies inside a folder that is read whole: what it writes there
  would mix with what it reads;
- one file written by two options (stdout, '-', included; /dev/null takes any number), or one path written as a
  file by one option and as a folder by another.
A path ending with '/' or naming an existing folder is a folder. Paths that do not exist on disk (a camera
index, a URL) cannot be overwritten and are ignored; '-' (stdout) counts only for two options writing it. A
file planned twice (two inputs whose outputs would share a name) is refused too. Lives in engines, the bottom
layer, because the commands, the sinks and cli.py all use it.

Files a command names itself in an output folder (`--csv DIR/` -> DIR/<input stem>.csv, `--render DIR/`, the
annotated images) replace only what pose-track wrote there before: their names are listed in the folder's
OWN_OUTPUTS file when they are written, with a fingerprint of each file (`fingerprint`), and
`refuse_replacing_others` refuses, before anything is written, one that already holds a file not on that list,
or another file than pose-track wrote under that name (the user's own walk.mp4 beside walk.avi, a photo of the
same name, the user's file copied over pose-track's).

partial_path(path) is where a file is written until it is complete (beside it, so that os.replace onto `path`
is atomic; same suffix, which encoders read the format from); write_text() writes a whole file that way.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
from typing import Iterable

import click


class OutputConflict(click.ClickException):
    """An output that would overwrite an input: a usage error (exit 2) in one line."""

    exit_code = 2


def _is_folder(path: str) -> bool:
    return path.endswith(("/", os.sep)) or os.path.isdir(path)


def _file_id(path: str):
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def is_stdout(path: str) -> bool:
    """Whether `path` is this process's standard output by another name (/dev/stdout, /proc/self/fd/1)."""
    import sys

    try:
        target, out = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (target.st_dev, target.st_ino) == (out.st_dev, out.st_ino)


def _is_null_device(path: str) -> bool:
    return os.path.realpath(path) == os.devnull


def _beneath(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:      # different drives
        return False


def _folder_holding(real: str, whole) -> str | None:
    """The input folder read whole (`whole`: (real path, as given) pairs) that `real` lies in, as given, or None."""
    return next((given for folder, given in whole if _beneath(real, folder)), None)


def check_outputs(outputs: Iterable, inputs: Iterable = (), input_folders: Iterable = ()) -> None:
    """outputs: (option, path) pairs, the files and folders the command writes (with the files it writes into
    an output folder listed as well). Raises OutputConflict; see the module docstring for the rules."""
    files, folders, whole = {}, {}, []
    for p in inputs:
        if p is None or not os.path.exists(str(p)):
            continue
        p = str(p)
        if os.path.isdir(p):
            folders.setdefault(_file_id(p), p)
            whole.append((os.path.realpath(p), p))
        else:
            files.setdefault(_file_id(p), p)
    for p in input_folders:
        if p is not None and os.path.isdir(str(p)):
            folders.setdefault(_file_id(str(p)), str(p))
    written: dict = {}
    folders_written: dict = {}
    for option, path in outputs:
        if path is not None and str(path) != "-" and _is_null_device(str(path)):
            continue                    # takes every write, also where stdout is /dev/null
        if path is not None and (str(path) == "-" or is_stdout(str(path))):
            other = written.setdefault("-", option)
            if other != option:
                raise OutputConflict(f"{other} and {option} would both write to stdout: give one of them a file")
            continue
        if path is None:
            continue
        path = str(path)
        real = os.path.realpath(path)
        if _is_folder(path):
            source = folders.get(_file_id(path))
            if source is not None:
                raise OutputConflict(f"{option} {path} is the input folder {source}: "
                                     "write the outputs to a folder of their own")
            source = _folder_holding(real, whole)
            if source is not None:
                raise OutputConflict(f"{option} {path} is inside the input folder {source}: "
                                     "write the outputs to a folder of their own")
            if real in written:         # one option's file, another's folder (two folders may be one)
                raise OutputConflict(f"{written[real]} and {option} would both write {path}: give them different "
                                     "paths")
            folders_written.setdefault(real, option)
            continue
        source = files.get(_file_id(path))
        if source is None and os.path.isfile(path):
            source = _folder_holding(real, whole)
            if source is not None:
                source = f"{path} (in the input folder {source})"
        if source is not None:
            raise OutputConflict(f"{option} would overwrite the input {source}: choose another output path")
        if real in folders_written:
            raise OutputConflict(f"{folders_written[real]} and {option} would both write {path}: give them different "
                                 "paths")
        if real in written:
            other = written[real]
            if other != option:
                raise OutputConflict(f"{other} and {option} would both write {path}: give them different paths")
            raise OutputConflict(f"{option} would write {path} for two inputs: rename one of them")
        written[real] = option


MAX_NAME_BYTES = 255      # the longest file name most file systems take
OWN_OUTPUTS = ".pose-track-outputs"     # in an output folder: the files pose-track wrote there, a line each
_EDGE = 1 << 20                         # a fingerprint reads this much of a file's start and of its end
_FINGERPRINT = re.compile(r"\d+:[0-9a-f]{32}")


def fingerprint(path) -> str | None:
    """`size:hash` of the file's size and its first and last MiB (the whole of a smaller file): tells the file
    pose-track wrote from another put in its place (a change inside a large file's middle that keeps its size is
    not seen), and holds for a copy of the folder. None where the file cannot be read."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            digest = hashlib.blake2b(f.read(_EDGE), digest_size=16)
            if size > 2 * _EDGE:
                f.seek(size - _EDGE)
            digest.update(f.read(_EDGE))
    except OSError:
        return None
    return f"{size}:{digest.hexdigest()}"


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(name: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in name)


def _unescaped(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), text)


def parse_own_outputs(lines) -> dict:
    """OWN_OUTPUTS' lines as {name: the fingerprints of the files pose-track wrote under that name}: a line is
    `name<TAB>size:hash`, the name with backslash, tab, newline and carriage return escaped. A line of a name
    alone (written by a version before fingerprints) gives None, any file of that name, until a later line gives
    a fingerprint."""
    listed = {}
    for line in lines:
        line = line.rstrip("\n")
        name, _, tail = line.rpartition("\t")
        if name and _FINGERPRINT.fullmatch(tail):
            name = _unescaped(name)
            listed[name] = {*(listed.get(name) or ()), tail}
        elif line:
            listed[line] = None
    return listed


def own_outputs(folder: str) -> dict | None:
    """The files the folder's OWN_OUTPUTS lists (parse_own_outputs); None for a folder without one."""
    listing = os.path.join(folder, OWN_OUTPUTS)
    if os.path.islink(listing):         # pose-track writes its list itself: a link there is someone else's
        return {}
    try:
        # A file name that is not UTF-8 text is listed as the bytes it is made of (engines.opencv_files).
        with open(listing, encoding="utf-8", errors="surrogateescape",
                  newline="\n") as f:      # a carriage return in a name is no line break
            return parse_own_outputs(f)
    except FileNotFoundError:
        return None
    except OSError:
        return {}


def _written_by_us(path: str, listed: dict, by_name: bool) -> bool:
    name = os.path.basename(path)
    if name not in listed:
        return False
    return by_name or listed[name] is None or fingerprint(path) in listed[name]


def refuse_replacing_others(outputs: Iterable, by_name: bool = False) -> None:
    """outputs: (option, path) pairs of the files a command names itself in an output folder. Raises
    OutputConflict for one that exists as a file pose-track did not write (the module's docstring), or as a folder.
    `by_name`: a listed name is enough (a training run folder, whose files a run interrupted while writing them
    resumes)."""
    listed: dict = {}
    for option, path in outputs:
        path = str(path)
        if os.path.isdir(path):
            raise OutputConflict(f"{option} would write {path}, a folder: move it, or give another folder")
        if not os.path.isfile(path):
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in listed:
            listed[folder] = own_outputs(folder)
        # A folder without a list was written before lists existed: there a CSV or NDJSON in pose-track's format
        # is taken as its own; where a list exists, only the list counts: the name, and the file's fingerprint.
        ours = (_written_by_us(path, listed[folder], by_name) if listed[folder] is not None
                else reads_as_ours(path))
        if not ours:
            raise OutputConflict(f"{option} would replace {path}, which is not a file pose-track wrote there (its "
                                 f"folder's {OWN_OUTPUTS}): move it, or give another folder")


def reads_as_ours(path: str) -> bool:
    """A CSV or NDJSON file that starts as pose-track's outputs do."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            first = f.readline(4096)
    except (OSError, UnicodeDecodeError):
        return False
    if path.endswith(".csv"):
        return first.startswith("source,frame,time_s,r_ankle_x,")
    if path.endswith(".ndjson"):
        return first.startswith('{"source":') and '"joints":' in first
    return False


_noted: dict = {}      # folder -> what its OWN_OUTPUTS lists, read once a process


def note_own_output(path) -> None:
    """List `path`, a file this run has just written whole, in its folder's OWN_OUTPUTS with its fingerprint: a
    later run may replace it (and only it: not another file put in its place)."""
    folder, name = os.path.split(os.path.abspath(str(path)))
    listed = _noted.get(folder)
    if listed is None:
        listed = _noted[folder] = own_outputs(folder) or {}
    mark = fingerprint(path)
    if mark is None or mark in (listed.get(name) or ()):
        return
    try:                # never through a link (O_NOFOLLOW): the list is appended to, and a link could lead anywhere
        fd = os.open(os.path.join(folder, OWN_OUTPUTS), os.O_WRONLY | os.O_APPEND | os.O_CREAT
                     | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with open(fd, "a", encoding="utf-8", errors="surrogateescape") as f:
            f.write(f"{_escaped(name)}\t{mark}\n")
        listed[name] = {*(listed.get(name) or ()), mark}
    except OSError:
        pass            # the output itself then fails with its own message


def folders_to_make(path) -> list:
    """The folders `path` and its missing parents that writing there would create, deepest first."""
    missing, p = [], os.path.abspath(str(path))
    while not os.path.exists(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return missing


def remove_if_empty(folders) -> None:
    """Remove those of `folders` (each before its parent, as folders_to_make gives them) that are empty."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            continue        # not empty (or gone): its parents then stay too, rmdir refuses them


def is_special_file(path) -> bool:
    """Whether `path` exists and is not a regular file or a folder (a device such as /dev/null, a named pipe):
    such an output is written in place, never replaced by a file."""
    try:
        mode = os.stat(str(path)).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def partial_path(path) -> str:
    """`dir/name.partial-<pid>.ext` for `dir/name.ext`: where `path` is written until it is complete. A name too
    long for that has its stem cut, with a hash of the whole name in its place (two long names that share a
    beginning, such as x.csv and x.raw.csv, still get two partial names)."""
    head, name = os.path.split(str(path))
    stem, ext = os.path.splitext(name)
    if len(os.fsencode(ext)) > 16:          # no extension an encoder reads, only a dot in the name
        stem, ext = name, ""
    tag = f".partial-{os.getpid()}{ext}"
    if len(os.fsencode(stem + tag)) > MAX_NAME_BYTES:
        mark = "~" + hashlib.blake2b(os.fsencode(name), digest_size=4).hexdigest()
        while stem and len(os.fsencode(stem + mark + tag)) > MAX_NAME_BYTES:
            stem = stem[:-1]
        stem += mark
    return os.path.join(head, stem + tag)


def write_text(path, text: str) -> None:
    """Write a whole text file: under partial_path(path), then moved onto `path` (an old file stays whole
    until the new one is complete); a device or a named pipe is written in place."""
    if is_special_file(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return
    _write_whole(path, "w", lambda f: f.write(text))


def write_npz(path, arrays: dict, compressed: bool = False) -> None:
    """numpy's savez (savez_compressed) of `arrays` at `path`, written whole as write_text writes."""
    import numpy as np

    save = np.savez_compressed if compressed else np.savez
    _write_whole(path, "wb", lambda f: save(f, **arrays))


def _write_whole(path, mode: str, write) -> None:
    """write(f) into a file under partial_path(path), then moved onto `path`; nothing left on a failure."""
    tmp = partial_path(path)
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


__all__ = ["OWN_OUTPUTS", "OutputConflict", "check_outputs", "fingerprint", "folders_to_make", "is_special_file",
           "is_stdout", "note_own_output", "own_outputs", "parse_own_outputs", "partial_path", "reads_as_ours",
           "refuse_replacing_others", "remove_if_empty", "write_npz", "write_text"]
