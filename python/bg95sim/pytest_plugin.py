"""pytest plugin of bg95sim: fixtures for tests that drive the emulated module.

Loaded by the ``pytest11`` entry point when the package is installed (``pip install
./python``), or with ``-p bg95sim.pytest_plugin`` (or ``pytest_plugins`` in a conftest.py)
when the package is only on sys.path.

Fixtures (each stops what it started at the end of the test, and a start or an exit status
other than 0 fails the test):

- ``bg95``: one module on a new state folder in the test's tmp_path. Options come from the
  ``bg95sim`` marker: ``@pytest.mark.bg95sim(cut_power_at_update=[50], csq=12)``.
- ``bg95_fleet``: a factory, ``bg95_fleet(n, **options)`` -> a Module of n modules.
- ``bg95_scenario``: a factory, ``bg95_scenario(path, **options)`` -> a Module running
  ``bg95sim --scenario path`` (its rules fire; you are the host).
- ``package_server``: bg95-pkgserver serving ``package_server.root`` (a folder of the test)
  over HTTP on an ephemeral port; options from the ``package_server`` marker
  (``https=0``, ``faults=[...]``).
- ``bg95sim_build``: the build folder the programs come from (None: PATH).

Where the programs are: ``--bg95sim-build DIR``, else BG95SIM_BUILD, else the repository's
build/ when run from a clone, else PATH.

When a test fails, the transcript of every module it started (``BASE.txt``: each byte both
ways and every module event) and bg95sim's stderr are attached to its report as sections,
so the failure shows what the module said; and an HTML report of those transcripts
(``bg95-scenario report``: a timeline per module and one summary line per DFOTA) is written
beside the first one, its path and DFOTA lines in a section of their own.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
from pathlib import Path
from typing import List, Optional

import pytest

from . import binaries
from .binaries import find_build_dir, set_default_build
from .module import _TRANSCRIPT as _TRANSCRIPT_LINE
from .module import Module
from .pkgserver import PackageServer

_STARTED = pytest.StashKey[List[Module]]()
_PREVIOUS_BUILD = pytest.StashKey[Optional[Path]]()
_DEFAULT_LIMIT = 100_000


def pytest_addoption(parser) -> None:
    group = parser.getgroup("bg95sim", "bg95sim (the emulated Quectel BG95)")
    group.addoption("--bg95sim-build", metavar="DIR", default=None,
                    help="build folder of bg95sim (holds sim/bg95sim ...) or a folder with the "
                         "programs; default: $BG95SIM_BUILD, the repository's build/ when run "
                         "from a clone, else PATH")
    group.addoption("--bg95sim-transcript-limit", metavar="CHARS", type=int,
                    default=_DEFAULT_LIMIT,
                    help="attach at most the last CHARS characters of each transcript to a "
                         "failed test's report (default %d; 0: no limit)" % _DEFAULT_LIMIT)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "bg95sim(*args, **options): options of the bg95 fixture's module "
                   "(bg95sim.Module arguments, e.g. cut_power_at_update=[50])")
    config.addinivalue_line(
        "markers", "package_server(**options): options of the package_server fixture "
                   "(bg95sim.PackageServer arguments, e.g. https=0, faults=[...])")
    build = config.getoption("bg95sim_build")
    if build:
        # Restored at unconfigure (a pytest run inside this one must not clear ours).
        config.stash[_PREVIOUS_BUILD] = binaries._default_build
        set_default_build(build)


def pytest_unconfigure(config) -> None:
    if _PREVIOUS_BUILD in config.stash:
        set_default_build(config.stash[_PREVIOUS_BUILD])


def pytest_report_header(config) -> str:
    folder = find_build_dir(config.getoption("bg95sim_build"))
    return "bg95sim: programs from %s" % (folder if folder is not None else "PATH")


@pytest.fixture(scope="session")
def bg95sim_build(pytestconfig) -> Optional[Path]:
    """The build folder the programs are taken from (None when they come from PATH)."""
    return find_build_dir(pytestconfig.getoption("bg95sim_build"))


def _track(request, module: Module) -> Module:
    request.node.stash.setdefault(_STARTED, []).append(module)
    return module


def _stop_all(modules: List[Module]) -> None:
    errors = []
    for module in modules:
        try:
            module.stop()
        except Exception as e:  # stop them all, then report the first
            errors.append(e)
    if errors:
        raise errors[0]


@pytest.fixture
def bg95(request, tmp_path):
    """One module on a new state folder (tmp_path/bg95sim/state); options from the bg95sim
    marker. Stopped after the test; an exit status other than 0 fails it."""
    marker = request.node.get_closest_marker("bg95sim")
    args = tuple(marker.args) if marker else ()
    options = dict(marker.kwargs) if marker else {}
    options.setdefault("workdir", tmp_path / "bg95sim")
    module = _track(request, Module(*args, **options))
    yield module
    module.stop()


def _factory(request, tmp_path, kind: str):
    """A fixture's factory of Modules, and the list of those it started."""
    started: List[Module] = []

    def start(*args, **options) -> Module:
        options.setdefault("workdir", tmp_path / ("bg95sim-%s-%d" % (kind, len(started) + 1)))
        module = _track(request, Module(*args, **options))
        started.append(module)
        return module

    return start, started


@pytest.fixture
def bg95_fleet(request, tmp_path):
    """A factory: bg95_fleet(n, *args, **options) starts a fleet of n modules (one process,
    --count n) on new state folders; `module[i]` is module i+1, `module.ports` their ports."""
    start, started = _factory(request, tmp_path, "fleet")
    yield lambda n, *args, **options: start(*args, count=n, **options)
    _stop_all(started)


@pytest.fixture
def bg95_scenario(request, tmp_path):
    """A factory: bg95_scenario(path, *args, **options) starts bg95sim --scenario path on a
    new state folder: the scenario sets the module up, builds its packages, starts its
    package server and fires its rules; the test is the host. `module.scenario_vars` holds
    the scenario's ${...} values (e.g. "server.http")."""
    start, started = _factory(request, tmp_path, "scenario")
    yield lambda path, *args, **options: start(*args, scenario=path, **options)
    _stop_all(started)


@pytest.fixture
def package_server(request, tmp_path):
    """bg95-pkgserver serving tmp_path/packages (``package_server.root``) over HTTP on an
    ephemeral port of 127.0.0.1; options from the package_server marker."""
    marker = request.node.get_closest_marker("package_server")
    options = dict(marker.kwargs) if marker else {}
    root = Path(options.pop("root", tmp_path / "packages"))
    root.mkdir(parents=True, exist_ok=True)
    server = PackageServer(root, **options)
    yield server
    server.stop()


def _tail(text: str, limit: int, path) -> str:
    if limit and len(text) > limit:
        return ("[... the first %d characters are left out; the whole transcript: %s]\n"
                % (len(text) - limit, path)) + text[-limit:]
    return text


def _html_report(item, modules: List[Module]) -> Optional[tuple]:
    """Writes the HTML report of the modules' transcripts; (title, text) of its section, or
    None when there is no transcript."""
    transcripts = [str(m.transcript_jsonl) for module in modules for m in module.modules
                   if m.transcript_jsonl is not None and m.transcript_jsonl.exists()]
    if not transcripts:
        return None
    out = Path(transcripts[0]).parent / "report.html"
    try:
        program = binaries.find_program("bg95-scenario")
        done = subprocess.run([program, "report", *transcripts, "-o", str(out),
                               "--title", item.nodeid], capture_output=True, text=True,
                              timeout=60)
    except (binaries.ProgramNotFound, OSError, subprocess.TimeoutExpired) as e:
        return ("bg95sim HTML report", "not written: %s\n" % e)
    if done.returncode != 0:
        return ("bg95sim HTML report", "not written: %s" % (done.stderr or done.stdout))
    lines = re.findall(r"<li>(.*?)</li>", out.read_text("utf-8", "replace"))
    return ("bg95sim HTML report (%s)" % out,
            "".join("DFOTA: %s\n" % html.unescape(line) for line in lines) or "no DFOTA\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" or not report.failed:
        return
    modules = item.stash.get(_STARTED, [])
    if not modules:
        return
    limit = item.config.getoption("bg95sim_transcript_limit")
    for module in modules:
        for member in module.modules:
            if member.transcript is None:
                continue
            text = member.transcript_text()
            report.sections.append((
                "bg95sim transcript of module %d (%s, %s)" % (member.number, member.port,
                                                               member.transcript),
                _tail(text, limit, member.transcript) if text else "(empty)\n"))
        # What bg95sim logged, less the lines naming the transcripts (shown above).
        stderr = [line for line in module.stderr_lines if not _TRANSCRIPT_LINE.match(line)]
        if stderr:
            report.sections.append(("bg95sim stderr (%s)" % module.state,
                                    "\n".join(stderr) + "\n"))
    section = _html_report(item, modules)
    if section is not None:
        report.sections.append(section)
