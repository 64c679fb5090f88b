"""Where a plan folder or an output file may be written, checked before any work (MODEL.md §5:
exit 2 means nothing written).  Light on purpose: no numpy, so that a bad output path is refused
at once (docs/reliability.md)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PLAN_FILES = frozenset({"plan.csv", "plan.xlsx", "summary.json", "diagnosis.json", "pins.csv"})


def ordinary_mode(mode: int) -> int:
    """``mode`` (0o666 for a file, 0o777 for a folder) less the process's umask: what ``open``
    and ``mkdir`` would give.  ``tempfile.mkstemp`` and ``mkdtemp`` create private entries
    (0600, 0700), so every output written through one is given this mode before it is renamed."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def unwritable(path: str | Path) -> str | None:
    """Why no file or folder can be created at ``path`` (one phrase), or None when one can.

    The nearest existing folder above ``path`` must let this process create entries: probed by
    creating and removing an empty temporary file there, so that a read-only file system and
    permissions are judged as the write will meet them (root ignores permission bits)."""
    folder = Path(os.path.abspath(path)).parent
    while not os.path.lexists(folder):
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    try:
        fd, probe = tempfile.mkstemp(prefix=".bedalloc-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        return f"cannot write in {folder}: {e.strerror or e}"
    return None


def replace_folder(tmp: Path, out: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``out``: an earlier ``out`` is moved aside,
    put back if the swap fails, and removed after (its files are never half replaced)."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / "previous")
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old / "previous", out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def link_target(path: str | Path) -> Path:
    """Where an output named ``path`` is written: ``path`` itself, or what a symbolic link
    ``path`` points to (followed to its end; the link stays and points to the new output)."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def plan_dir_target(out: str | Path) -> Path:
    """The folder a plan folder ``out`` is written to (:func:`link_target`)."""
    return link_target(out)


def unsafe_out_dir(out: str | Path) -> str | None:
    """Why ``out`` may not be (re)placed by a plan folder, or None when it may.

    A plan folder replaces ``out`` whole, so ``out`` must be absent or an earlier plan folder
    (only plan files in it): a folder holding anything else is never deleted.  A symbolic link
    is followed (:func:`plan_dir_target`); one to nothing is refused.  The folder must be
    writable: checked here, before any work (:func:`unwritable`)."""
    out = Path(out)
    if out.is_symlink() and not out.exists():
        return "a symbolic link to a missing folder; point it to a folder or give another name"
    out = plan_dir_target(out)
    if not out.exists():
        return unwritable(out)
    if not out.is_dir():
        return "a file of that name exists; --out must name a folder"
    if out.resolve() == Path.cwd().resolve() or out.resolve() == out.resolve().parent:
        return "the current or root folder cannot be an output folder"
    others = sorted(p.name for p in out.iterdir() if p.name not in PLAN_FILES)
    if others:
        return (f"the folder holds other files ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); "
                "choose a new or an earlier plan folder")
    if not os.access(out, os.W_OK | os.X_OK):  # moving a folder rewrites its ".." entry
        return f"cannot replace {out}: {os.strerror(13)}"
    return unwritable(out)


def bad_output_file(path: str, flag: str, keep: list[str | Path], suffixes: tuple[str, ...] = (),
                     new: bool = False) -> str | None:
    """Why ``path`` may not be written by ``flag`` (one line), or None: it must be a file name
    in an existing, writable folder, ending in one of ``suffixes`` (when given: an existing file
    of another kind is never overwritten), absent when ``new``, and neither one of ``keep``
    (inputs) nor inside one of them (plan and model folders).  A symbolic link is followed and
    its target checked so (:func:`link_target`: the writers write there)."""
    p = link_target(path)
    if p.is_dir() or not (p.parent if str(p.parent) else Path(".")).is_dir():
        return f"{path}: {flag}: must be a file name in an existing folder"
    if suffixes and p.suffix.lower() not in suffixes:
        return f"{path}: {flag}: must name a {' or '.join(suffixes)} file"
    if new and p.exists():
        return f"{path}: {flag}: a file of that name exists; remove it first or choose another name"
    target = p.resolve()
    for k in keep:
        k = Path(k).resolve()
        if target == k or k in target.parents:
            return f"{path}: {flag}: would overwrite {k}; choose another file"
    why = unwritable(p)
    return f"{path}: {flag}: {why}" if why else None
