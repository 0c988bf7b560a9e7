"""bg95-pkgserver, the fault-injecting package server (docs/package-server.md), as a process.

    with PackageServer(folder, http=0, faults=["/update.bin:truncate_at=10000"]) as server:
        url = server.url("/update.bin")          # http://127.0.0.1:<ephemeral port>/update.bin
        ...
        server.wait_request("GET /update.bin")   # its log line, once the request ended
"""

from __future__ import annotations

import os
import re
import select
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from . import _process
from .binaries import find_program

__all__ = ["PackageServer", "PackageServerError", "fault_to_text"]

PathLike = Union[str, Path]

_LISTENER = re.compile(r"^bg95-pkgserver: (?P<proto>https?|coaps?) (?P<url>\S+)"
                       r"(?: \(CA (?P<ca>.+)\))?$")
_PKI = re.compile(r"^bg95-pkgserver: certificates in (?P<dir>.+) \(wrong CA")


class PackageServerError(Exception):
    pass


def fault_to_text(fault: Union[str, Dict[str, object]]) -> str:
    """A fault rule as --fault takes it: ``PATH:KEY=VALUE[,KEY=VALUE...]``.

    A string is taken as it is. A dict has the YAML rule's keys (docs/package-server.md):
    ``{"path": "/update.bin", "truncate_at": 300000, "requests": "first"}``; a list becomes
    ``a+b`` (``protocol: ["coap", "coaps"]``), ``corrupt: (offset, count)`` or
    ``{"offset": o, "count": c}`` becomes ``o+c``, ``requests: {"first": 2}`` becomes
    ``first/2``, and True a bare key (``tls_wrong_ca``).
    """
    if isinstance(fault, str):
        return fault
    rule = dict(fault)
    path = str(rule.pop("path", ""))
    terms = []
    for key, value in rule.items():
        if value is True:
            terms.append(key)
            continue
        if key == "corrupt":
            if isinstance(value, dict):
                value = (value["offset"], value["count"])
            value = "+".join(str(v) for v in value)  # type: ignore[union-attr]
        elif key == "requests" and isinstance(value, dict):
            (kind, n), = value.items()
            value = "%s/%s" % (kind, n)
        elif isinstance(value, (list, tuple)):
            value = "+".join(str(v) for v in value)
        terms.append("%s=%s" % (key, value))
    if not terms:
        raise ValueError("a fault rule needs at least one effect: %r" % (fault,))
    return "%s:%s" % (path, ",".join(terms))


class PackageServer:
    """A running bg95-pkgserver on loopback.

    root: the folder to serve (default: a new temporary folder, `self.root`, removed by
      stop()); files put there later are served too.
    http, https, coap, coaps: a port (0: ephemeral) or None (no listener); HTTP by default.
    psk: "IDENTITY:KEY" for CoAPS; https_client_cert: demand a client certificate;
    faults: rules, as strings for --fault or dicts (fault_to_text);
    pki: where the certificates go; bind: the address (default 127.0.0.1);
    config: a YAML file (--config); args: more options as they are.
    """

    def __init__(self, root: Optional[PathLike] = None, *, http: Optional[int] = 0,
                 https: Optional[int] = None, coap: Optional[int] = None,
                 coaps: Optional[int] = None, psk: Optional[str] = None,
                 https_client_cert: bool = False,
                 faults: Sequence[Union[str, Dict[str, object]]] = (),
                 pki: Optional[PathLike] = None, bind: Optional[str] = None,
                 config: Optional[PathLike] = None, args: Sequence[str] = (),
                 build: Optional[PathLike] = None, ready_timeout: float = 10.0):
        self._own_root = root is None and config is None
        if self._own_root:
            root = tempfile.mkdtemp(prefix="bg95-packages-")
        self.root = Path(root) if root is not None else None
        self.program = find_program("bg95-pkgserver", build)
        argv = [self.program]
        if config is not None:
            argv += ["--config", str(config)]
        if self.root is not None:
            argv += ["--root", str(self.root)]
        wanted = []
        for proto, port in (("http", http), ("https", https), ("coap", coap), ("coaps", coaps)):
            if port is not None:
                argv += ["--%s" % proto, str(port)]
                wanted.append(proto)
        if psk is not None:
            argv += ["--psk", psk]
        if https_client_cert:
            argv.append("--https-client-cert")
        for fault in faults:
            argv += ["--fault", fault_to_text(fault)]
        if pki is not None:
            argv += ["--pki", str(pki)]
        if bind is not None:
            argv += ["--bind", bind]
        argv += list(args)
        self.argv = argv
        self.urls: Dict[str, str] = {}     # protocol -> base URL as printed ("http://127.0.0.1:4242/")
        self.ca_file: Optional[Path] = None
        self.pki_dir: Optional[Path] = None
        self.log: List[str] = []           # every line it printed on stdout, requests included
        self.stderr: List[str] = []
        self.returncode: Optional[int] = None
        self._stopped = False
        self._cond = threading.Condition()
        self._closed = False
        self.proc = _process.start(argv)
        self._thread = threading.Thread(target=self._read, name="bg95-pkgserver-output",
                                        daemon=True)
        self._thread.start()
        try:
            self._wait_ready(wanted, ready_timeout)
        except BaseException:
            self.stop(check=False)
            raise

    def _read(self) -> None:
        out_fd, err_fd = self.proc.stdout.fileno(), self.proc.stderr.fileno()
        targets = {out_fd: self.log, err_fd: self.stderr}
        partial = {out_fd: b"", err_fd: b""}
        open_fds = [out_fd, err_fd]
        while open_fds:
            readable, _, _ = select.select(open_fds, [], [])
            for fd in readable:
                data = os.read(fd, 65536)
                if data:
                    *lines, partial[fd] = (partial[fd] + data).split(b"\n")
                else:  # end of file
                    open_fds.remove(fd)
                    lines = [partial[fd]] if partial[fd] else []
                    partial[fd] = b""
                with self._cond:
                    for raw in lines:
                        line = raw.decode("utf-8", "replace")
                        targets[fd].append(line)
                        if fd == out_fd:
                            self._parse(line)
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _parse(self, line: str) -> None:
        m = _LISTENER.match(line)
        if m:
            self.urls[m.group("proto")] = m.group("url")
            if m.group("ca"):
                self.ca_file = Path(m.group("ca"))
            return
        m = _PKI.match(line)
        if m:
            self.pki_dir = Path(m.group("dir"))

    def _wait_ready(self, wanted: List[str], timeout: float) -> None:
        """Until each listener asked for is printed (with --config only: the first line;
        the program prints all its listener lines in one write)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if wanted and all(p in self.urls for p in wanted):
                    return
                if not wanted and self.urls:
                    return
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    break
                self._cond.wait(left)
        code = _process.exit_status(self.proc, self._closed)
        self.stop(check=False)
        raise PackageServerError("bg95-pkgserver %s\n  command: %s\n  stderr:\n%s" % (
            "exited with status %s" % code if code is not None
            else "printed no listener within %.0f s" % timeout,
            " ".join(self.argv), "\n".join(self.stderr)))

    # --- addresses ---------------------------------------------------------------------

    def url(self, path: str = "/", protocol: str = "http") -> str:
        """The URL of `path` on a listener: url("/update.bin") -> http://127.0.0.1:P/update.bin."""
        if protocol not in self.urls:
            raise PackageServerError("no %s listener (have: %s)" % (protocol,
                                                                    ", ".join(self.urls)))
        return self.urls[protocol].rstrip("/") + "/" + path.lstrip("/")

    def port(self, protocol: str = "http") -> int:
        return int(self.url("/", protocol).split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])

    # --- the request log ---------------------------------------------------------------

    @property
    def requests(self) -> List[str]:
        """The request lines it printed (one per request when it ended)."""
        with self._cond:
            return [line for line in self.log if not line.startswith("bg95-pkgserver:")]

    def wait_request(self, pattern: Union[str, "re.Pattern[str]"], timeout: float = 10.0,
                     *, regex: bool = False) -> str:
        """Waits for a request line containing `pattern` (text, or a regex); returns it.
        E.g. ``wait_request("GET /update.bin -> 200")``."""
        compiled = pattern if not isinstance(pattern, str) else \
            re.compile(pattern if regex else re.escape(pattern))
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.log:
                    if not line.startswith("bg95-pkgserver:") and compiled.search(line):
                        return line
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise TimeoutError("bg95-pkgserver logged no request matching %r; log: %r"
                                       % (compiled.pattern, self.log[-20:]))
                self._cond.wait(left)

    # --- stopping ----------------------------------------------------------------------

    def stop(self, timeout: float = 10.0, check: bool = True) -> int:
        """SIGTERM, wait, and the exit status (0 when it stopped cleanly); idempotent."""
        if not self._stopped:
            self._stopped = True
            _process.terminate(self.proc, timeout)
            self._thread.join(timeout)
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.returncode = self.proc.returncode
            if self._own_root:
                shutil.rmtree(self.root, ignore_errors=True)  # type: ignore[arg-type]
        if check and self.returncode != 0:
            raise PackageServerError("bg95-pkgserver exited with status %s; stderr:\n%s"
                                     % (self.returncode, "\n".join(self.stderr)))
        return self.returncode  # type: ignore[return-value]

    def __enter__(self) -> "PackageServer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(check=exc_type is None)
