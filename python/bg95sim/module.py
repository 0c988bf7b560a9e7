"""A bg95sim process: one virtual module, or a fleet of them, for tests.

    from bg95sim import Module

    with Module(csq=20) as m:            # a new state in a temporary folder
        assert m.cmd("ATI") == "\\r\\nQuectel\\r\\nBG95-M3\\r\\nRevision: BG95M3LAR02A03\\r\\n\\r\\nOK\\r\\n"
        m.control.net_reg("searching")
        print(m.status()["reg"], m.transcript)

`Module(...)` starts bg95sim, waits for its ready line (and, through the control socket, for
every module to have booted), and hands back the port(s). Keyword options become bg95sim
options (``cut_power_at_update=[50]`` is ``--cut-power-at-update 50``, ``unregistered=True`` is
``--unregistered``); positional arguments are passed as they are.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Union

from . import _process
from .binaries import find_program
from .control import ControlClient
from .port import Answer, AtPort, Pattern

__all__ = ["Module", "Member", "ModuleError", "StartError", "options_to_args"]

PathLike = Union[str, Path]


class ModuleError(Exception):
    """bg95sim failed: it did not start, did not stop cleanly, or exited with an error."""


class StartError(ModuleError):
    pass


# Options the Module manages itself: give them as keyword arguments, not in `args`.
_MANAGED = ("--state", "--control", "--transcript", "--count", "--scenario", "--link")

_READY_SINGLE = re.compile(
    r"^bg95sim: (?P<model>\S+) ready on (?P<pty>\S+)(?: -> link (?P<link>.+?))?"
    r"(?:, USB AT port (?P<usb_pty>\S+) -> link (?P<usb_link>.+?))? \(open with: ")
_READY_MEMBER = re.compile(
    r"^bg95sim\[(?P<n>\d+)\]: (?P<model>\S+) ready on (?P<pty>\S+)(?: -> link (?P<link>.+?))?"
    r"(?:, USB AT port (?P<usb_pty>\S+) -> link (?P<usb_link>.+?))?$")
_READY_FLEET = re.compile(r"^bg95sim: fleet of (?P<count>\d+) modules ready")
_TRANSCRIPT = re.compile(r"^bg95sim(?:\[(?P<n>\d+)\])?: transcript (?P<path>.+)$")
_SCENARIO_VAR = re.compile(r"^bg95sim: scenario .*?: \$\{(?P<name>[^}]*)\} = (?P<value>.*)$")

_live: "weakref.WeakSet[Module]" = weakref.WeakSet()

BANNER_END = "+QIND: SMS DONE"  # the last line of every boot banner (sim/urc.hpp)


@atexit.register
def _stop_all() -> None:
    for module in list(_live):
        try:
            module.stop(timeout=5)
        except Exception:
            pass


def options_to_args(options: Dict[str, object]) -> List[str]:
    """Keyword options as command-line options: ``csq=20`` -> ``--csq 20``, ``x=True`` ->
    ``--x``, ``x=False``/``None`` -> nothing, a list -> ``--x a b``; ``_`` becomes ``-``."""
    args: List[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple)):
            args.append(flag)
            args.extend(str(v) for v in value)
        else:
            args.extend([flag, str(value)])
    return args


def _banner_out(member: "Member") -> bool:
    """The transcript shows the end of a boot banner (+QIND: SMS DONE) on the main port; true
    when there is no transcript to tell."""
    if member.transcript_jsonl is None:
        return True
    return any(r.get("type") == "module" and r.get("port") == "uart"
               and BANNER_END in r.get("text", "") for r in member.transcript_events())


class _Output:
    """Reads a child's stdout and stderr on one thread, line by line."""

    def __init__(self, proc: subprocess.Popen, on_stdout_line):
        self.cond = threading.Condition()
        self.stdout: List[str] = []
        self.stderr: List[str] = []
        self.closed = False
        self._proc = proc
        self._on_stdout_line = on_stdout_line
        self._thread = threading.Thread(target=self._run, name="bg95sim-output", daemon=True)
        self._thread.start()

    def _drain_stderr(self, fd: int, partial: Dict[int, bytes]) -> None:
        """Reads what stderr holds now (it was written before a stdout line that is being
        handled: the ready line comes after the transcript and scenario lines)."""
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            if not data:
                return
            self._feed(fd, data, partial)

    def _feed(self, fd: int, data: bytes, partial: Dict[int, bytes]) -> None:
        text = partial.get(fd, b"") + data
        *lines, rest = text.split(b"\n")
        partial[fd] = rest
        out_fd = self._proc.stdout.fileno()
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if fd == out_fd:
                err_fd = self._proc.stderr.fileno()
                if err_fd in self._fds:
                    self._drain_stderr(err_fd, partial)
                with self.cond:
                    self.stdout.append(line)
                    self._on_stdout_line(line)
                    self.cond.notify_all()
            else:
                with self.cond:
                    self.stderr.append(line)
                    self.cond.notify_all()

    def _run(self) -> None:
        self._fds = [self._proc.stdout.fileno(), self._proc.stderr.fileno()]
        for fd in self._fds:  # both non-blocking: a drain may have emptied one select named
            os.set_blocking(fd, False)
        partial: Dict[int, bytes] = {}
        while self._fds:
            readable, _, _ = select.select(self._fds, [], [])
            for fd in readable:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not data:
                    self._fds.remove(fd)
                    rest = partial.pop(fd, b"")
                    if rest:
                        self._feed(fd, rest + b"\n", partial)
                    continue
                self._feed(fd, data, partial)
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class Member:
    """One module of a bg95sim process (the only one, or one of a fleet): its port, its
    control client, its transcript, and driver-style helpers on its AT port."""

    def __init__(self, owner: "Module", index: int, model: str, pty: str,
                 link: Optional[str], usb_pty: Optional[str], usb_link: Optional[str]):
        self.owner = owner
        self.index = index            # @index on the control socket
        self.number = index + 1       # bg95sim[number] in its output, 0001... in file names
        self.model = model
        self.pty = pty                # /dev/pts/N
        self.link = link              # --link PATH, when given
        self.port = link or pty       # what a host opens
        self.usb_pty = usb_pty
        self.usb_port = usb_link or usb_pty
        self.transcript: Optional[Path] = None        # BASE.txt (people)
        self.transcript_jsonl: Optional[Path] = None  # BASE.jsonl (programs, replay)
        self.control: Optional[ControlClient] = None
        self._at: Optional[AtPort] = None
        self._opened: List[AtPort] = []

    # --- the AT port -----------------------------------------------------------------

    def open(self, *, usb: bool = False, backend: Optional[str] = None) -> AtPort:
        """A new connection to the port (closed by stop() if not before)."""
        path = self.usb_port if usb else self.port
        if path is None:
            raise ModuleError("module %d has no USB AT port (start it with usb_port=LINK)"
                              % self.number)
        port = AtPort(path, backend=backend or self.owner.backend)
        self._opened.append(port)
        return port

    @property
    def at(self) -> AtPort:
        """The module's main AT port, opened at first use and kept open."""
        if self._at is None or self._at.closed:
            self._at = self.open()
        return self._at

    def cmd(self, command: str, timeout: Optional[float] = None, **kwargs) -> Answer:
        """AtPort.cmd on the main port: the answer up to the final result code."""
        return self.at.cmd(command, timeout, **kwargs)

    def expect(self, pattern: Pattern, timeout: Optional[float] = None, **kwargs):
        """AtPort.expect on the main port: waits for a text or regex, consumes through it."""
        return self.at.expect(pattern, timeout, **kwargs)

    def send(self, data: Union[str, bytes]) -> None:
        self.at.send(data)

    def status(self) -> Dict[str, str]:
        """The control socket's status of this module, as a dict."""
        if self.control is None:
            raise ModuleError("no control socket (the Module was started with control=False)")
        return self.control.status()

    def transcript_text(self) -> str:
        """The transcript (BASE.txt) as it is now; "" when there is none."""
        if self.transcript is None or not self.transcript.exists():
            return ""
        return self.transcript.read_text("utf-8", "replace")

    def transcript_events(self) -> List[dict]:
        """The records of the JSONL transcript (BASE.jsonl) as they are now, header first:
        ``{"type": "event", "kind": "power", "text": "power cut", "t": ...}``,
        ``{"type": "module", "port": "uart", "text": "..."}`` ... (docs/scenarios.md,
        "Transcripts"); [] when there is none."""
        if self.transcript_jsonl is None or not self.transcript_jsonl.exists():
            return []
        with open(self.transcript_jsonl, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def _close(self) -> None:
        for port in self._opened:
            port.close()
        self._opened.clear()
        self._at = None
        if self.control is not None:
            self.control.close()

    def __repr__(self) -> str:
        return "<bg95sim module %d %s on %s>" % (self.number, self.model, self.port)


class Module:
    """A running bg95sim: one module, or a fleet with count=N (or a --fleet file in `args`).

    Keyword arguments:
      state: the state folder (default: a new one, `workdir`/state);
      count: modules in the process (--count);
      scenario: a scenario file (--scenario): its set-up, package server and rules;
      link: --link PATH (a fleet: a pattern with {} or the number appended);
      transcript: True (default: `workdir`/transcript), a BASE path, or False;
      control: True (default): a control socket in a private temporary folder;
      workdir: where the state and transcript go (default: a temporary folder, removed by
        stop() unless keep=True);
      build: the build folder with the programs (see bg95sim.binaries);
      backend: "pyserial" or "os" for the AT ports (default: pyserial when importable);
      ready_timeout: seconds to wait for the ready line and the first boot;
      wait_boot: wait until every module is on (power normal or dfota, through the control
        socket: not with control=False) and its boot banner is out (through the transcript:
        not with transcript=False). The first boot's banner
        is written before any host has the port open and is lost, as on a UART nobody
        listens to: `control.reset()` with the port open to see one;
      env: the environment of the process;
      any other keyword: a bg95sim option (see options_to_args); `args`: options as they are.
    """

    def __init__(self, *args: str, state: Optional[PathLike] = None, count: int = 1,
                 scenario: Optional[PathLike] = None, link: Optional[PathLike] = None,
                 transcript: Union[bool, PathLike] = True, control: bool = True,
                 workdir: Optional[PathLike] = None, keep: bool = False,
                 build: Optional[PathLike] = None, backend: Optional[str] = None,
                 ready_timeout: float = 30.0, wait_boot: bool = True,
                 env: Optional[Dict[str, str]] = None, **options: object):
        for arg in args:
            if arg.split("=", 1)[0] in _MANAGED:
                raise ValueError("give %s as a keyword argument of Module (state=, control=, "
                                 "transcript=, count=, scenario=, link=), not in args" % arg)
        self.backend = backend
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="bg95sim-")) if workdir is None \
            else Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.state = Path(state) if state is not None else self.workdir / "state"
        self.count = count
        self.scenario = Path(scenario) if scenario is not None else None
        self.program = find_program("bg95sim", build)
        self.modules: List[Member] = []
        self.scenario_vars: Dict[str, str] = {}
        self.returncode: Optional[int] = None
        self._stopped = False
        self._ready = False
        self._fleet_count: Optional[int] = None
        self._ready_lines: List[re.Match] = []

        # The control socket: in a short private folder (a socket path has at most 107 bytes).
        self._control_dir: Optional[Path] = None
        self.control_path: Optional[Path] = None
        if control:
            self._control_dir = Path(tempfile.mkdtemp(prefix="bg95ctl-"))
            self.control_path = self._control_dir / "ctl.sock"
        if transcript is True:
            self.transcript_base: Optional[Path] = self.workdir / "transcript"
        elif transcript:
            self.transcript_base = Path(transcript)
        else:
            self.transcript_base = None

        argv = [self.program, "--state", str(self.state)]
        if count != 1:
            argv += ["--count", str(count)]
        if self.scenario is not None:
            argv += ["--scenario", str(self.scenario)]
        if link is not None:
            argv += ["--link", str(link)]
        if self.control_path is not None:
            argv += ["--control", str(self.control_path)]
        if self.transcript_base is not None:
            argv += ["--transcript", str(self.transcript_base)]
        argv += options_to_args(options) + list(args)
        self.argv = argv

        self.proc = _process.start(argv, env)
        _live.add(self)
        self._output = _Output(self.proc, self._on_stdout_line)
        try:
            self._wait_ready(ready_timeout)
            self._set_up_members()
            if wait_boot and self.control_path is not None:
                self._wait_boot(ready_timeout)
        except BaseException:
            self.stop(check=False)
            raise

    # --- start-up ----------------------------------------------------------------------

    def _on_stdout_line(self, line: str) -> None:
        if self._ready:
            return
        m = _READY_SINGLE.match(line)
        if m:
            self._ready_lines = [m]
            self._ready = True
            return
        m = _READY_MEMBER.match(line)
        if m:
            self._ready_lines.append(m)
            return
        m = _READY_FLEET.match(line)
        if m:
            self._fleet_count = int(m.group("count"))
            self._ready = True

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        out = self._output
        with out.cond:
            while not self._ready:
                if out.closed or self.proc.poll() is not None:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                out.cond.wait(min(left, 0.5))
        if not self._ready:
            code = _process.exit_status(self.proc, out.closed)
            self.stop(check=False)
            raise StartError("bg95sim %s: %s\n  command: %s\n  stderr:\n%s" % (
                "exited with status %s before its ready line" % code if code is not None
                else "printed no ready line within %.0f s" % timeout,
                self.state, " ".join(self.argv), self.stderr_text))

    def _set_up_members(self) -> None:
        transcripts: Dict[int, Path] = {}
        with self._output.cond:
            for line in self._output.stderr:
                m = _TRANSCRIPT.match(line)
                if m:
                    transcripts[int(m.group("n") or 1)] = Path(m.group("path"))
                m = _SCENARIO_VAR.match(line)
                if m:
                    self.scenario_vars[m.group("name")] = m.group("value")
        for i, m in enumerate(self._ready_lines):
            member = Member(self, i, m.group("model"), m.group("pty"), m.group("link"),
                            m.group("usb_pty"), m.group("usb_link"))
            txt = transcripts.get(i + 1)
            if txt is not None:
                member.transcript = txt
                member.transcript_jsonl = txt.with_suffix(".jsonl")
            if self.control_path is not None:
                member.control = ControlClient(str(self.control_path), "@%d" % i)
            self.modules.append(member)
        self.count = len(self.modules)

    def _wait_boot(self, timeout: float) -> None:
        """Until every module is on (power normal: AT commands, or dfota: an update resumes)
        and, where it booted normally and keeps a transcript, its boot banner is out: the
        banner's lines are spaced in time, and a port opened in the middle would get its end.
        """
        client = ControlClient(str(self.control_path), "@all")
        deadline = time.monotonic() + timeout
        try:
            while True:
                states = client.status_all()
                powers = {i: s.get("power") for i, s in states.items()}
                if len(states) == self.count and all(
                        p in ("normal", "dfota") for p in powers.values()):
                    if all(_banner_out(m) for m in self.modules if powers[m.index] == "normal"):
                        return
                if self.proc.poll() is not None or time.monotonic() >= deadline:
                    raise StartError("bg95sim %s: the modules did not boot (or finish their "
                                     "banner) within %.0f s: %s\n  stderr:\n%s"
                                     % (self.state, timeout, powers, self.stderr_text))
                time.sleep(0.01)
        finally:
            client.close()

    # --- output of the process ---------------------------------------------------------

    @property
    def stdout_lines(self) -> List[str]:
        with self._output.cond:
            return list(self._output.stdout)

    @property
    def stderr_lines(self) -> List[str]:
        with self._output.cond:
            return list(self._output.stderr)

    @property
    def stderr_text(self) -> str:
        return "\n".join(self.stderr_lines)

    def wait_output(self, pattern: Union[str, "re.Pattern[str]"], timeout: float = 10.0,
                    *, regex: bool = False) -> str:
        """Waits for a line of bg95sim's stdout or stderr (from its start) that contains
        `pattern` (text, or a regex: a compiled pattern or regex=True); returns the line.
        Scenario rules print one when they fire: ``bg95sim: rule "cut-at-43" fired (...)``."""
        compiled = pattern if not isinstance(pattern, str) else \
            re.compile(pattern if regex else re.escape(pattern))
        deadline = time.monotonic() + timeout
        out = self._output
        with out.cond:
            while True:
                for line in out.stdout + out.stderr:
                    if compiled.search(line):
                        return line
                left = deadline - time.monotonic()
                if out.closed or left <= 0:
                    raise TimeoutError("bg95sim printed no line matching %r%s; stdout: %r "
                                       "stderr: %r" % (compiled.pattern,
                                                       " (it exited)" if out.closed else "",
                                                       out.stdout[-20:], out.stderr[-20:]))
                out.cond.wait(left)

    # --- the modules -------------------------------------------------------------------

    def __getitem__(self, index: int) -> Member:
        return self.modules[index]

    def __len__(self) -> int:
        return len(self.modules)

    def __iter__(self) -> Iterator[Member]:
        return iter(self.modules)

    @property
    def ports(self) -> List[str]:
        """The port of each module (its link when --link was given, else its pty)."""
        return [m.port for m in self.modules]

    # The first (or only) module's:
    @property
    def port(self) -> str:
        return self.modules[0].port

    @property
    def pty(self) -> str:
        return self.modules[0].pty

    @property
    def control(self) -> ControlClient:
        client = self.modules[0].control
        if client is None:
            raise ModuleError("no control socket (the Module was started with control=False)")
        return client

    @property
    def control_all(self) -> ControlClient:
        """A control client for every module (@all): status_all(), fleet-wide actions."""
        if self.control_path is None:
            raise ModuleError("no control socket (the Module was started with control=False)")
        if not hasattr(self, "_control_all"):
            self._control_all = ControlClient(str(self.control_path), "@all")
        return self._control_all

    @property
    def transcript(self) -> Optional[Path]:
        return self.modules[0].transcript

    @property
    def transcript_jsonl(self) -> Optional[Path]:
        return self.modules[0].transcript_jsonl

    @property
    def at(self) -> AtPort:
        return self.modules[0].at

    def open(self, **kwargs) -> AtPort:
        return self.modules[0].open(**kwargs)

    def cmd(self, command: str, timeout: Optional[float] = None, **kwargs) -> Answer:
        return self.modules[0].cmd(command, timeout, **kwargs)

    def expect(self, pattern: Pattern, timeout: Optional[float] = None, **kwargs):
        return self.modules[0].expect(pattern, timeout, **kwargs)

    def send(self, data: Union[str, bytes]) -> None:
        self.modules[0].send(data)

    def status(self) -> Dict[str, str]:
        return self.modules[0].status()

    def transcript_text(self) -> str:
        return self.modules[0].transcript_text()

    def transcript_events(self) -> List[dict]:
        return self.modules[0].transcript_events()

    # --- stopping ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0, check: bool = True) -> int:
        """Closes the ports, sends SIGTERM, waits for the exit and returns its status.

        With `check`, a status other than 0 (or no exit within `timeout`: then SIGKILL)
        raises ModuleError with bg95sim's stderr. Idempotent. Removes the temporary folders
        (the workdir only when Module made it and keep is False).
        """
        if not self._stopped:
            self._stopped = True
            for member in self.modules:
                member._close()
            if hasattr(self, "_control_all"):
                self._control_all.close()
            killed = _process.terminate(self.proc, timeout)
            self._output.join(timeout)
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.returncode = self.proc.returncode
            self._killed = killed
            _live.discard(self)
            if self._control_dir is not None:
                shutil.rmtree(self._control_dir, ignore_errors=True)
            if self._own_workdir and not self.keep:
                shutil.rmtree(self.workdir, ignore_errors=True)
        if check:
            if getattr(self, "_killed", False):
                raise ModuleError("bg95sim %s did not exit within %.0f s of SIGTERM and was "
                                  "killed; stderr:\n%s" % (self.state, timeout, self.stderr_text))
            if self.returncode != 0:
                raise ModuleError("bg95sim %s exited with status %s; stderr:\n%s"
                                  % (self.state, self.returncode, self.stderr_text))
        return self.returncode  # type: ignore[return-value]

    def __enter__(self) -> "Module":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(check=exc_type is None)

    def __repr__(self) -> str:
        return "<bg95sim %s: %d module(s), state %s>" % (
            "running" if self.running else "stopped", len(self.modules), self.state)
