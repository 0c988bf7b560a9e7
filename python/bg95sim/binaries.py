"""Where the project's programs are.

In order: the `build` argument (a build folder of the repository, or a folder holding the
programs themselves), the folder given to set_default_build() (the pytest plugin's
--bg95sim-build), the environment variable BG95SIM_BUILD (the same), the repository's
build/ folder when run from a clone (the current folder, or else the package's own folder,
is inside one that has CMakeLists.txt and build/sim/bg95sim), and finally PATH.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional, Union

__all__ = ["find_program", "find_build_dir", "set_default_build", "PROGRAMS", "ProgramNotFound"]

_default_build: Optional[Path] = None


def set_default_build(build: Optional[Union[str, Path]]) -> None:
    """The build folder used when a call names none (before BG95SIM_BUILD): the pytest
    plugin sets it from --bg95sim-build. None clears it."""
    global _default_build
    _default_build = Path(build).resolve() if build else None

# Where each program sits in a CMake build folder of the repository.
PROGRAMS = {
    "bg95sim": "sim/bg95sim",
    "bg95ctl": "sim/bg95ctl",
    "dfota-pack": "sim/dfota-pack",
    "bg95-pkgserver": "scenarios/package_server/bg95-pkgserver",
    "bg95-scenario": "scenarios/bg95-scenario",
}


class ProgramNotFound(FileNotFoundError):
    pass


def _repo_build_dir() -> Optional[Path]:
    """build/ of the clone the current folder, or else this package, is in."""
    starts = [Path.cwd().resolve(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in [start, *start.parents]:
            build = folder / "build"
            if (build / PROGRAMS["bg95sim"]).is_file() and (folder / "CMakeLists.txt").is_file():
                return build
    return None


def find_build_dir(build: Optional[Union[str, Path]] = None) -> Optional[Path]:
    """The folder programs are taken from, or None when they come from PATH."""
    if build:
        return Path(build).resolve()
    if _default_build is not None:
        return _default_build
    env = os.environ.get("BG95SIM_BUILD")
    if env:
        return Path(env).resolve()
    return _repo_build_dir()


def find_program(name: str, build: Optional[Union[str, Path]] = None) -> str:
    """The path of program `name` (bg95sim, bg95ctl, dfota-pack, bg95-pkgserver,
    bg95-scenario). Raises ProgramNotFound naming where it looked."""
    folder = find_build_dir(build)
    if folder is not None:
        candidates = [folder / PROGRAMS.get(name, name), folder / name, folder / "bin" / name]
        for candidate in candidates:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        raise ProgramNotFound(
            "%s: not found in %s (looked for %s); give the build folder with --bg95sim-build "
            "DIR or BG95SIM_BUILD=DIR" % (name, folder, ", ".join(str(c) for c in candidates)))
    found = shutil.which(name)
    if found is None:
        raise ProgramNotFound(
            "%s: not on PATH and no build folder given; give it with --bg95sim-build DIR or "
            "BG95SIM_BUILD=DIR (the repository's build/ folder)" % name)
    return found
