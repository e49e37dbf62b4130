"""Compiler wrapper for Verilator's ``OBJCACHE`` make hook: reuse Verilator's runtime objects.

Every Verilator build compiles the same runtime (``verilated.cpp``, ``verilated_vpi.cpp``, ... from
the wheel's ``include/``) with the same flags: about two thirds of a small array's build time.
Run as ``objcache.py <compiler command>``, this wrapper serves such a compile from a cache keyed
by the full command line, the compiler binary and the state of the runtime's include folder, and
stores fresh results only when the dependency file shows nothing from the build folder was
included. Every other compile (the design, cocotb's main) runs untouched. Standard library only,
so that it starts fast and never imports accelsim.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _runtime_source(cmd: list[str]) -> Path | None:
    if "-c" not in cmd or "-o" not in cmd:
        return None
    src = Path(cmd[-1])
    if src.suffix != ".cpp" or not src.name.startswith("verilated") or src.parent.name != "include":
        return None
    return src.resolve() if src.is_file() else None


def _key(cmd: list[str], out: str, src: Path) -> str:
    h = hashlib.sha256()
    h.update(repr([a for a in cmd if a != out]).encode())
    compiler = shutil.which(cmd[0])
    if compiler is None:
        raise FileNotFoundError(cmd[0])
    st = os.stat(os.path.realpath(compiler))
    h.update(f"{os.path.realpath(compiler)}:{st.st_size}:{st.st_mtime_ns}".encode())
    for folder in (src.parent, src.parent / "vltstd"):
        if folder.is_dir():
            for e in sorted(os.scandir(folder), key=lambda e: e.name):
                if e.is_file():
                    s = e.stat()
                    h.update(f"{e.path}:{s.st_size}:{s.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def _deps_outside_build(dep_file: Path) -> bool:
    """True when every dependency listed in the ``-MMD`` file is an absolute path outside the cwd."""
    if not dep_file.is_file():
        return False
    text = dep_file.read_text().replace("\\\n", " ")
    deps = text.split(":", 1)[1].split() if ":" in text else []
    cwd = os.getcwd()
    return all(os.path.isabs(d) and not os.path.realpath(d).startswith(cwd + os.sep) for d in deps)


def main(argv: list[str]) -> int:
    cmd = argv[1:]
    src = _runtime_source(cmd)
    cache_root = os.environ.get("ACCELSIM_OBJCACHE_DIR")
    if src is None or not cache_root:
        return subprocess.call(cmd)
    out = cmd[cmd.index("-o") + 1]
    dep = Path(out).with_suffix(".d")
    entry = Path(cache_root) / _key(cmd, out, src)
    if (entry / "obj.o").is_file():
        shutil.copyfile(entry / "obj.o", out)
        if (entry / "obj.d").is_file():
            shutil.copyfile(entry / "obj.d", dep)
        return 0
    rc = subprocess.call(cmd)
    if rc == 0 and _deps_outside_build(dep):
        Path(cache_root).mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=cache_root, prefix=".tmp-"))
        shutil.copyfile(out, tmp / "obj.o")
        shutil.copyfile(dep, tmp / "obj.d")
        try:
            os.replace(tmp, entry)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
