"""One reader for a folder or a zip file: what every reader and validator in `zoo.formats` opens.

A folder and the zip of that folder read the same: members are '/'-separated file paths relative
to the folder or to the zip's root (folders themselves are not members), `read` gives their
bytes, and `where` names a member in errors and problems: `folder/member`, or `archive.zip:member`
inside a zip. Members come in archive order from a zip (a name written twice is listed twice, so
validators can report it) and sorted from a folder.

Hidden files, the one rule: a member is hidden when any part of its path starts with "." (a dot
file or dot folder: `.DS_Store`, `._Labels-v2.json`, `.ipynb_checkpoints/...`) or is `__MACOSX`
(the resource forks the macOS archiver adds). Operating systems and archivers add them, people do
not mean them, and no official evaluator reads them: every reader skips them (`members` never
lists them, `has` never finds them) and no validator reports them. The readers that list a
folder themselves (`reid.list_split`, `tracking.list_sequences`, `jersey.tracklet_ids`, the
ground-truth file searches of the ReID and jersey validators) apply `is_hidden` too.

No reader strips a common root: a zip that wraps everything in one top folder lists its members
under that folder, and the readers that care say so (the spotting validator suggests removing the
leading folder; the calibration readers accept one split folder by design).
"""

from __future__ import annotations

import json
import os
import pathlib
import zipfile
from typing import Any

from zoo.formats.errors import FileFormatError

HIDDEN_FOLDER = "__MACOSX"


def is_hidden(name: str) -> bool:
    """Whether a relative '/'-separated path is hidden (see the module docstring for the rule)."""
    if not (name.startswith(".") or "/." in name or HIDDEN_FOLDER in name):
        return False  # the usual case, decided without splitting the path
    return any(part.startswith(".") or part == HIDDEN_FOLDER for part in name.split("/"))


class Archive:
    """A folder or a zip file, read by member name. Use it as a context manager (closes the zip).

    Raises FileNotFoundError when `path` does not exist, and `error` (a FileFormatError subclass,
    naming the path) when it is neither a folder nor a zip file, or its zip cannot be opened.
    `error` is also what `read_json` raises for a member that is not JSON.
    """

    def __init__(self, path: str | os.PathLike, *, error: type[FileFormatError] = FileFormatError):
        self.path = pathlib.Path(path)
        self.error = error
        self.zip: zipfile.ZipFile | None = None
        self._names: set[str] | None = None
        if self.path.is_dir():
            return
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such folder or zip file")
        if not zipfile.is_zipfile(self.path):
            raise error(self.path, "neither a folder nor a zip file")
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as e:
            raise error(self.path, f"cannot read the zip ({e})") from None

    def members(self) -> list[str]:
        """Every file that is not hidden: in zip order (repeats kept), or sorted for a folder."""
        if self.zip is not None:
            names = [info.filename for info in self.zip.infolist() if not info.is_dir()]
        else:
            names, top = [], os.fspath(self.path)
            for folder, subfolders, files in os.walk(top):
                subfolders[:] = [d for d in subfolders if not is_hidden(d)]  # skip their contents
                relative = folder[len(top) :].lstrip(os.sep).replace(os.sep, "/")
                prefix = relative + "/" if relative else ""
                names.extend(prefix + file for file in files)
            names.sort()
        return [name for name in names if not is_hidden(name)]

    def has(self, name: str) -> bool:
        """Whether the file `name` is a member (hidden files never are)."""
        if is_hidden(name):
            return False
        if self.zip is None:
            return os.path.isfile(os.path.join(self.path, name))
        if self._names is None:
            self._names = set(self.members())
        return name in self._names

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(name)
        return (self.path / name).read_bytes()

    def read_json(self, name: str) -> Any:
        """A member parsed as JSON; raises `error` naming the member when it is not JSON text."""
        try:
            return json.loads(self.read(name))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise self.error(self.where(name), f"invalid JSON: {e}") from e

    def where(self, name: str) -> str:
        """The member as errors and problems name it: `archive.zip:name` or `folder/name`."""
        return f"{self.path}:{name}" if self.zip is not None else str(self.path / name)

    @property
    def is_zip(self) -> bool:
        return self.zip is not None

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
