"""Reading user files safely (model files, sweep specs) and writing outputs atomically.

A user file is read only when it is a regular file no larger than ``MAX_FILE_BYTES`` (a FIFO,
``/dev/zero`` or a directory is refused without being opened, a 100 MB file without being read),
must be UTF-8 text, YAML at most ``MAX_YAML_BYTES``; its YAML aliases may expand to at most
``MAX_EXPANDED_NODES`` nodes (a "billion laughs" document expands exponentially) and it may nest
at most ``MAX_DEPTH`` levels (deeper documents would exhaust Python's recursion limit in the
parser). Every refusal is one ``AccelsimError`` line naming the file (and line where known).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from accelsim.errors import AccelsimError, ModelFileError

# ruamel parses YAML in pure Python, at 40-100 kB/s on a loaded 2-core machine: a YAML/JSON model
# file or spec (a thousand layers is 30-60 kB) is limited to 256 kB so none parses for more than a
# few seconds; a CSV (read by the csv module, ~25 bytes a layer) to 1 MB.
MAX_FILE_BYTES = 1000 * 1000
# An ONNX file carries the weights (ResNet-50 is ~100 MB in fp32, VGG-16 ~550 MB): 1 GB, checked
# before reading; protobuf itself cannot hold more than 2 GB in one message.
MAX_ONNX_BYTES = 1000 * 1000 * 1000
MAX_YAML_BYTES = 256 * 1000
MAX_LAYERS = 10_000
MAX_ALIASES = 1000
MAX_EXPANDED_NODES = 100_000
MAX_DEPTH = 64


class FileProblem(AccelsimError):
    """A user file refused before or while parsing; ``line`` is 1-based when known."""

    def __init__(self, path, line: int | None, problem: str):
        where = f"{path}" if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = path, line, problem


def read_text(path: str | Path, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (a leading BOM dropped)."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise FileProblem(path, line, f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})") from None


def read_bytes(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is refused before reading."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise FileProblem(path, None, f"cannot read: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileProblem(path, None, "cannot read: is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem(path, None, "cannot read: not a regular file (a device, FIFO or socket)")
    if st.st_size > limit:
        raise FileProblem(path, None, f"file is {st.st_size / 1e6:.1f} MB, larger than the {limit / 1e6:g} MB limit")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise FileProblem(path, None, f"cannot read: {e.strerror}") from None
    if len(data) > limit:  # grew after the stat
        raise FileProblem(path, None, f"file is larger than the {limit / 1e6:g} MB limit")
    return data


class _LimitedComposer(Composer):
    """ruamel's composer with a budget on aliases and a maximum nesting depth.

    An alias shares its anchored node, so a document of a few lines can stand for 10^9 nodes (ten
    aliases of ten aliases of ...), which anything walking it would expand. Each alias is charged
    the expanded size of the node it names; past ``MAX_EXPANDED_NODES`` (or ``MAX_ALIASES``
    aliases) the document is refused.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        from ruamel.yaml.events import AliasEvent

        if self.parser.check_event(AliasEvent):
            mark = self.parser.peek_event().start_mark
            node = super().compose_node(parent, index)
            self._aliases = getattr(self, "_aliases", 0) + 1
            sizes = self.__dict__.setdefault("_sizes", {})
            self._expanded = getattr(self, "_expanded", 0) + _expanded_size(node, sizes)
            if self._aliases > MAX_ALIASES or self._expanded > MAX_EXPANDED_NODES:
                raise ComposerError(None, None, f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes or "
                                                f"number more than {MAX_ALIASES} (refused: an alias bomb)", mark)
            return node
        if self.depth >= MAX_DEPTH:
            mark = self.parser.peek_event().start_mark
            raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
        return super().compose_node(parent, index)


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Nodes ``node`` stands for once every alias in it is expanded. Memoized by node, so the cost is
    linear in the document; an alias's target was sized when it was first aliased, so the recursion
    only descends real nodes (at most MAX_DEPTH deep)."""
    if id(node) in memo:
        return memo[id(node)]
    size = 1
    value = getattr(node, "value", None)
    if isinstance(value, list):
        for item in value:
            if isinstance(item, tuple):  # a mapping's (key node, value node)
                size += _expanded_size(item[0], memo) + _expanded_size(item[1], memo)
            else:
                size += _expanded_size(item, memo)
    memo[id(node)] = size
    return size


def strict_yaml() -> YAML:
    """Round-trip YAML (line numbers kept), duplicate keys rejected, aliases and depth limited."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Composer = _LimitedComposer
    return yaml


def load_yaml(text: str, path: str | Path) -> Any:
    """Parse ``text`` with ``strict_yaml``; a syntax error, too many aliases or too deep nesting is one
    ``FileProblem`` line naming the file and line."""
    try:
        return load_yaml_marked(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = (e.problem or str(e)).strip().splitlines()[0]
        raise FileProblem(path, mark.line + 1 if mark else None, problem) from None
    except YAMLError as e:
        raise FileProblem(path, None, str(e).strip().splitlines()[0]) from None


def load_yaml_marked(text: str) -> Any:
    """Parse with ``strict_yaml``, ruamel's errors propagating (for callers that read their marks)."""
    try:
        return strict_yaml().load(text)
    except RecursionError:
        raise YAMLError(f"nested more than {MAX_DEPTH} levels deep") from None


def check_json(text: str, path: str | Path) -> None:
    """Strict JSON syntax first (YAML would accept trailing commas); too deep nesting is refused."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        raise FileProblem(path, e.lineno, f"invalid JSON: {e.msg}") from None
    except RecursionError:
        raise FileProblem(path, None, f"nested more than {MAX_DEPTH} levels deep") from None


# ---- writing ------------------------------------------------------------------------------------

def atomic_write(path: str | Path, write: Callable[[Path], object], what: str = "output") -> None:
    """Call ``write(tmp)`` on a temporary file in ``path``'s folder, then rename it over ``path``:
    a reader never sees half a file, and a failure leaves the old file (or none) in place."""
    path = Path(path)
    if path.is_dir():
        raise AccelsimError(f"{what}: cannot write {path}: is a directory")
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise AccelsimError(f"{what}: cannot write {path}: {e.strerror}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if path.exists():
            shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as e:
        raise AccelsimError(f"{what}: cannot write {path}: {e.strerror or e}") from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str, what: str = "output") -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), what)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_folder(path: str | Path, fill: Callable[[Path], object], what: str = "output") -> None:
    """Call ``fill(tmp)`` on a new temporary folder beside ``path``, then put it in ``path``'s place
    (an existing folder there is replaced only once the new one is complete): never a half-written
    folder, whatever ``fill`` raises."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AccelsimError(f"{what}: cannot write {path}/: a file of that name exists")
    for above in path.parents:
        if above.exists():
            if not above.is_dir():
                raise AccelsimError(f"{what}: cannot write {path}/: Not a directory ({above} is a file)")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    except OSError as e:
        raise AccelsimError(f"{what}: cannot write {path}/: {e.strerror}") from None
    old = None
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / "previous")
        os.replace(tmp, path)
    except OSError as e:
        if old is not None and (old / "previous").exists() and not path.exists():
            os.replace(old / "previous", path)  # put the previous report back
        raise AccelsimError(f"{what}: cannot write {path}/: {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when ``a`` and ``b`` name the same file, also through links or different spellings (a file
    that does not exist yet is compared by its resolved path): the guard before overwriting an input."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def positive_int(path: str | Path, line: int | None, field: str, cell: str) -> int:
    """A model or config file's cell as an integer > 0, else a ModelFileError naming file, line and field."""
    try:
        v = int(cell)
    except ValueError:
        raise ModelFileError(path, line, field, f"expected an integer, got {cell!r}") from None
    if v <= 0:
        raise ModelFileError(path, line, field, f"must be > 0, got {v}")
    return v
