"""What every submission validator returns: a list of problems, each with where and what.

Each task's validator module (`zoo.formats.validate.TASKS` lists them: `zoo.formats.<task>`, or
`zoo.formats.<task>_submission` where the format module would grow too long) exposes

    validate_submission(path, *, groundtruth=None) -> list[Problem]

where `path` is the submission zip or folder exactly as it would be uploaded, and `groundtruth`
(optional: a labels folder/zip/file) lets the validator check coverage (every game, sequence,
query or tracklet present, nothing extra). An empty list means the submission is valid.
`python -m zoo.formats.validate <task> <zip-or-dir> [--groundtruth ...]` prints the problems and
exits non-zero when there are any.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem in a submission.

    location: where it is, as precise as possible: the file (inside the zip: `zip:member`), then
      the entry (`predictions[12].position`, `line 40`, `query 1234`).
    message: what is wrong and what was expected.
    """

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"
