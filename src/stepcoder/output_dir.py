"""The one rule for output folders, used by every command that writes one (``sft``,
``train``, ``eval``, ``demo``) and, for output files, by ``data``:

- a folder that is absent or empty is used;
- a non-empty folder is refused unless ``--resume`` (commands that can continue their own
  work: ``train``, ``eval``) or ``--overwrite`` is given; ``--overwrite`` empties it, but only
  once every input has been checked (:func:`empty_for_overwrite` is called last);
- a start that fails before the command recorded any result leaves the folder as it was
  (:func:`restore_on_failure`): no half-made folder then blocks the same command.

Standard library only: light commands import it without torch.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class OutputExistsError(FileExistsError):
    """An output folder or file already holds something and no flag says what to do with it."""


def _entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def check_output_dir(path: str | os.PathLike, *, resume: bool = False, overwrite: bool = False,
                     can_resume: bool = False) -> None:
    """Refuse ``path`` when it is a non-empty folder and neither ``resume`` (where the command
    ``can_resume``) nor ``overwrite`` allows it. No side effects."""
    path = Path(path)
    if resume and overwrite:
        raise ValueError("--resume and --overwrite contradict each other: give one")
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"output folder {path} is a file")
    entries = _entries(path)
    if overwrite:
        _refuse_dangerous(path)
    if not entries or overwrite or (resume and can_resume):
        return
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    how = "--resume to continue it, --overwrite to replace it" if can_resume else "--overwrite to replace it"
    raise OutputExistsError(f"output folder {path} is not empty ({shown}): pass {how}, or choose another folder")


def _refuse_dangerous(path: Path) -> None:
    """``--overwrite`` never empties the working folder, a folder above it, or the home folder."""
    target, cwd = path.resolve(), Path.cwd().resolve()
    if target == cwd or target in cwd.parents or target == Path.home().resolve():
        raise OutputExistsError(f"--overwrite would empty {path} ({target}), which holds the working "
                                "folder or is the home folder: choose a folder of its own")


def empty_for_overwrite(path: str | os.PathLike, overwrite: bool) -> None:
    """Remove everything inside ``path`` when ``overwrite`` (the folder itself stays). Call it
    after every input is checked, just before the command starts writing."""
    path = Path(path)
    if not overwrite or not path.is_dir():
        return
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def check_output_file(path: str | os.PathLike, overwrite: bool = False) -> None:
    """Refuse an existing output file unless ``overwrite`` (the file is then replaced)."""
    path = Path(path)
    if path.is_dir():
        raise OutputExistsError(f"output file {path} is a folder")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"output file {path} exists: pass --overwrite to replace it, or choose another path")


# Files whose lines are results: a folder holding one with content has recorded work.
_RESULT_FILES = ("metrics.jsonl", "samples.jsonl")


def _holds_results(path: Path) -> bool:
    """A logged line or a checkpoint anywhere below ``path`` (the demo's stages are subfolders)."""
    if any(p.is_file() and p.stat().st_size > 0 for name in _RESULT_FILES for p in path.rglob(name)):
        return True
    return any(path.rglob("checkpoints/step-*"))


@contextmanager
def restore_on_failure(path: str | os.PathLike) -> Iterator[None]:
    """Run the command's body; if it fails before any result is recorded, put ``path`` back as
    it was before the body: removed when it did not exist, emptied when it was empty. A folder
    that held files before (a resume) is never touched, nor one with recorded results."""
    path = Path(path)
    existed, was_empty = path.exists(), not _entries(path)
    try:
        yield
    except BaseException:
        if was_empty and path.is_dir() and not _holds_results(path):
            if existed:
                empty_for_overwrite(path, True)
            else:
                shutil.rmtree(path, ignore_errors=True)
        raise
