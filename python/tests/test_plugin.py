"""The pytest plugin seen from outside, with pytester: a fresh pytest in a subprocess that
loads it with -p (the package not installed), the example run as a user runs it, and the
transcript attached to a failing test's report."""

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bg95sim import ProgramNotFound, find_build_dir, find_program, set_default_build
from bg95sim.binaries import PROGRAMS

from conftest import PYTHON_DIR

EXAMPLE = PYTHON_DIR / "examples" / "test_dfota_power_cut.py"


@pytest.fixture
def run_pytest(pytester, monkeypatch, bg95sim_build):
    """pytest in a subprocess with the plugin loaded by -p and python/ on PYTHONPATH."""
    monkeypatch.setenv("PYTHONPATH", str(PYTHON_DIR))
    build = [] if bg95sim_build is None else ["--bg95sim-build", str(bg95sim_build)]

    def run(*args):
        return pytester.runpytest_subprocess("-p", "bg95sim.pytest_plugin", "-p",
                                             "no:cacheprovider", *build, *args)

    return run


def test_the_example_passes_as_a_user_runs_it(pytester, run_pytest):
    pytester.makepyfile(test_example=EXAMPLE.read_text())
    result = run_pytest("-q")
    result.assert_outcomes(passed=1)
    assert result.ret == 0


def test_a_failing_test_gets_the_transcript_in_its_report(pytester, run_pytest):
    # The example with a wrong expected revision: it must fail, and its report must show
    # what the module said.
    source = EXAMPLE.read_text()
    assert source.count('== "BG95M3LAR02A04"') == 1
    pytester.makepyfile(test_wrong=source.replace('== "BG95M3LAR02A04"', '== "BG95M3LAR02A05"'))
    result = run_pytest("-q")
    result.assert_outcomes(failed=1)
    assert result.ret == 1
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*AssertionError: assert 'BG95M3LAR02A04' == 'BG95M3LAR02A05'",
        "*- bg95sim transcript of module 1 (/dev/pts/*, */bg95sim/transcript.txt) -*",
        "# bg95sim transcript of scenario session",
    ])
    # The section holds the session byte for byte: the host's command, the module's answer.
    section = out[out.index("- bg95sim transcript of module 1"):]
    assert 'host> AT+QFOTADL="http://127.0.0.1:' in section
    assert '<mod  \\r\\n+QIND: "FOTA","END",0\\r\\n' in section
    assert "uart  host> AT+CGMR\\r\\n" in section
    assert "uart  <mod  \\r\\nBG95M3LAR02A04\\r\\n\\r\\nOK\\r\\n" in section
    assert "power cut" in section
    # And the HTML report of the transcript, beside it, with the DFOTA's summary line.
    result.stdout.fnmatch_lines([
        "*- bg95sim HTML report (*/bg95sim/report.html) -*",
        "DFOTA: BG95M3LAR02A03_01.011.01.011 → BG95M3LAR02A04_01.012.01.012: HTTP download * s"
        " (HTTPEND,0), *1 power cut at 50 %*; result END,0",
    ])
    report = re.search(r"- bg95sim HTML report \((.*/report.html)\) -", out).group(1)
    page = Path(report).read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert '<g class="power-cut"><title>power cut at ' in page


def test_only_failing_tests_get_the_transcript_and_fixtures_clean_up(pytester, run_pytest):
    pytester.makepyfile(test_two='''
        def test_passes(bg95):
            assert bg95.cmd("ATI").ok

        def test_fails(bg95_fleet):
            fleet = bg95_fleet(2)
            assert fleet[1].cmd("AT+CSQ") == "nothing"
    ''')
    result = run_pytest("-q", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert out.count("- bg95sim transcript of module ") == 2  # the failing fleet's two modules
    assert "- bg95sim transcript of module 2 (" in out
    assert "host> AT+CSQ\\r\\n" in out


def test_a_module_that_exits_with_an_error_fails_the_test(pytester, run_pytest):
    pytester.makepyfile(test_crash='''
        def test_crash(bg95):
            bg95.proc.kill()
    ''')
    result = run_pytest("-q")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ModuleError: bg95sim * exited with status -9*"])


def test_the_marker_and_the_build_option_are_known(pytester, run_pytest):
    result = run_pytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.bg95sim(*args, **options): *",
                                 "@pytest.mark.package_server(**options): *"])
    result = run_pytest("--help")
    result.stdout.fnmatch_lines(["*--bg95sim-build=DIR*"])


def test_in_a_fresh_virtualenv_the_example_passes_and_a_wrong_one_fails(tmp_path,
                                                                       bg95sim_build):
    """A fresh virtualenv (Debian's python3-venv; --system-site-packages for Debian's pytest),
    `pip install ./python` without network (--no-index; Debian's setuptools builds it), then the
    example (a DFOTA with a power cut at UPDATING 50 %) run by that virtualenv's pytest, which
    loads the plugin through the installed pytest11 entry point: it passes. With a wrong
    expected revision it fails, with the transcript and the HTML report attached."""
    if subprocess.run([sys.executable, "-c", "import ensurepip, setuptools, pip"],
                      stderr=subprocess.DEVNULL).returncode != 0:
        pytest.skip("venv, pip or setuptools missing (Debian: python3-venv, python3-pip, "
                    "python3-setuptools)")
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env_dir)],
                   check=True)
    python = env_dir / "bin" / "python"
    source = tmp_path / "src"
    shutil.copytree(PYTHON_DIR, source, ignore=shutil.ignore_patterns(
        "__pycache__", "build", "*.egg-info", ".pytest_cache"))
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index",
                           "--no-build-isolation", str(source)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert done.returncode == 0, done.stdout
    entry_points = next((env_dir / "lib").glob("python3*/site-packages/bg95sim-*.dist-info"))
    assert (entry_points / "entry_points.txt").read_text().split() == [
        "[pytest11]", "bg95sim.pytest_plugin", "=", "bg95sim.pytest_plugin"]
    build = [] if bg95sim_build is None else ["--bg95sim-build", str(bg95sim_build)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed copy only

    def run(name, text):
        (tmp_path / name).write_text(text)
        return subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               *build, str(tmp_path / name)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    source_text = EXAMPLE.read_text()
    passed = run("test_example.py", source_text)
    assert passed.returncode == 0, passed.stdout
    assert "1 passed" in passed.stdout
    assert source_text.count('== "BG95M3LAR02A04"') == 1
    failed = run("test_wrong.py", source_text.replace('== "BG95M3LAR02A04"',
                                                        '== "BG95M3LAR02A05"'))
    assert failed.returncode == 1, failed.stdout
    assert "1 failed" in failed.stdout
    assert "- bg95sim transcript of module 1 (" in failed.stdout
    assert "- bg95sim HTML report (" in failed.stdout
    # The package those runs imported is the virtualenv's, not python/.
    where = subprocess.run([str(python), "-c", "import bg95sim; print(bg95sim.__file__)"],
                           cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True, check=True)
    assert where.stdout.startswith(str(env_dir)), where.stdout


def _fake_build(root):
    """A folder with build/sim/bg95sim ... as small scripts, beside a CMakeLists.txt."""
    root.mkdir()
    (root / "CMakeLists.txt").write_text("")
    for name, where in PROGRAMS.items():
        path = root / "build" / where
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return root / "build"


def test_where_the_programs_are_found(tmp_path, monkeypatch):
    monkeypatch.delenv("BG95SIM_BUILD", raising=False)
    monkeypatch.setattr("bg95sim.binaries._default_build", None)  # restored afterwards
    build = _fake_build(tmp_path / "clone")
    # From a clone: the current folder is inside it.
    monkeypatch.chdir(tmp_path / "clone")
    assert find_program("bg95-pkgserver") == str(build / PROGRAMS["bg95-pkgserver"])
    # BG95SIM_BUILD wins over the clone; a folder of programs works too.
    flat = tmp_path / "bin"
    flat.mkdir()
    (flat / "dfota-pack").write_text("#!/bin/sh\n")
    (flat / "dfota-pack").chmod(0o755)
    monkeypatch.setenv("BG95SIM_BUILD", str(flat))
    assert find_program("dfota-pack") == str(flat / "dfota-pack")
    with pytest.raises(ProgramNotFound) as caught:
        find_program("bg95sim")
    assert "--bg95sim-build DIR or BG95SIM_BUILD=DIR" in str(caught.value)
    # The plugin's --bg95sim-build (set_default_build) wins over the environment.
    set_default_build(build)
    assert find_build_dir() == build
    assert find_program("bg95sim") == str(build / "sim" / "bg95sim")
    set_default_build(None)
    # Outside a clone and without a build folder: PATH.
    monkeypatch.delenv("BG95SIM_BUILD")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("bg95sim.binaries._repo_build_dir", lambda: None)
    monkeypatch.setenv("PATH", str(flat) + os.pathsep + os.environ.get("PATH", ""))
    assert find_build_dir() is None
    assert find_program("dfota-pack") == str(flat / "dfota-pack")
