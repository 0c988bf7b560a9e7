"""Firmware images and a DFOTA package, made with dfota-pack (docs/package-format.md)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Union

from .binaries import find_program

__all__ = ["DfotaFiles", "make_images_and_package", "inspect", "DfotaPackError"]

PathLike = Union[str, Path]


class DfotaPackError(Exception):
    pass


@dataclass(frozen=True)
class DfotaFiles:
    """What make_images_and_package() made."""

    old: Path               # the image the module runs before the update
    new: Path               # the image after it
    package: Path           # the delta package old -> new
    old_revision: str       # AT+CGMR before, e.g. BG95M3LAR02A03
    new_revision: str       # AT+CGMR after, e.g. BG95M3LAR02A04
    old_version: str        # AT+QGMR before, e.g. BG95M3LAR02A03_01.011.01.011
    new_version: str        # AT+QGMR after
    package_size: int       # bytes


def _run(argv) -> str:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL)
    text = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        raise DfotaPackError("%s: exit status %d\n%s" % (" ".join(map(str, argv)),
                                                         done.returncode, text))
    return text


def inspect(path: PathLike, build: Optional[PathLike] = None) -> Dict[str, str]:
    """`dfota-pack inspect FILE` as a dict of its "key: value" lines (model, revision,
    full version, source, target ...); raises DfotaPackError when the file is invalid."""
    text = _run([find_program("dfota-pack", build), "inspect", str(path)])
    out: Dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^  ([a-zA-Z0-9 -]+):\s+(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def make_images_and_package(folder: PathLike, *, model: str = "BG95-M3",
                            size: Optional[int] = None, seed: Optional[int] = None,
                            change: float = 0.03, bump_revision: bool = True,
                            revision: Optional[str] = None, full_version: Optional[str] = None,
                            level: Optional[int] = None, old_name: str = "old.img",
                            new_name: str = "new.img", package_name: str = "update.bin",
                            build: Optional[PathLike] = None) -> DfotaFiles:
    """Makes, in `folder`: the old image, the next version of it, and the package between.

    With the defaults of `model`, `size` and `seed` the old image is the one a new bg95sim
    state holds (``dfota-pack firmware`` and bg95sim write the same default image; give
    bg95sim ``firmware_size=size`` when you give `size`), so the package updates a fresh
    module. `change` is the fraction of the body edited, `bump_revision` steps the revision
    (A03 -> A04); `revision`/`full_version` name the new image instead; `level` is the zstd
    level of the package (dfota-pack's default when None).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tool = find_program("dfota-pack", build)
    old, new, package = folder / old_name, folder / new_name, folder / package_name

    argv = [tool, "firmware", "--model", model, "-o", str(old)]
    if size is not None:
        argv += ["--size", str(size)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    _run(argv)

    argv = [tool, "firmware", "--from", str(old), "--change", repr(change), "-o", str(new)]
    if bump_revision:
        argv.append("--bump-revision")
    if revision is not None:
        argv += ["--revision", revision]
    if full_version is not None:
        argv += ["--full-version", full_version]
    _run(argv)

    argv = [tool, "diff", str(old), str(new), "-o", str(package)]
    if level is not None:
        argv += ["--level", str(level)]
    _run(argv)

    before, after = inspect(old, build), inspect(new, build)
    return DfotaFiles(old=old, new=new, package=package,
                      old_revision=before["revision"], new_revision=after["revision"],
                      old_version=before["full version"], new_version=after["full version"],
                      package_size=package.stat().st_size)
