"""Project-wide error type: one clear line naming where and which field is wrong."""

from os import PathLike


class AccelsimError(ValueError):
    """A user-facing input error (bad layer, model file, config or spec).

    Subclasses ValueError so library callers can catch it generically; the CLI turns it into one
    line on stderr and exit code 2.
    """


class ModelFileError(AccelsimError):
    """A malformed model file; the message names the file, the line and the field."""

    def __init__(self, path: str | PathLike[str], line: int | None, field: str | None, problem: str):
        where = f"{path}" if line is None else f"{path}:{line}"
        what = f" field '{field}':" if field else ""
        super().__init__(f"{where}:{what} {problem}")
        self.path, self.line, self.field, self.problem = path, line, field, problem
