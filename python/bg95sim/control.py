"""A client of bg95sim's control socket (docs/control.md), in Python, without bg95ctl.

The socket speaks text lines: one request a line (``[@selector] command``), one response a
line, in order: ``OK key=value ...`` or ``ERR reason``. A value is bare, or in double quotes
with ``\\"``, ``\\\\`` and ``\\xNN`` escapes.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Dict, Optional, Union

__all__ = ["ControlClient", "ControlError", "parse_response"]


class ControlError(Exception):
    """The socket answered ERR (`reason` holds its text), or could not be reached."""

    def __init__(self, message: str, request: str = "", reason: str = ""):
        super().__init__(message)
        self.request = request
        self.reason = reason


_KEY = re.compile(r"([^\s=]+)=")


def parse_response(line: str) -> Dict[str, str]:
    """The key=value pairs of an ``OK ...`` line, values unquoted and unescaped.

    Raises ControlError for an ``ERR`` line and ValueError for anything that is not a response.
    """
    if line.startswith("ERR"):
        raise ControlError("control: %s" % line, reason=line[4:])
    if line != "OK" and not line.startswith("OK "):
        raise ValueError("not a control response: %r" % line)
    out: Dict[str, str] = {}
    i = 2
    n = len(line)
    while i < n:
        if line[i] in " \t":
            i += 1
            continue
        m = _KEY.match(line, i)
        if m is None:
            raise ValueError("control response: no key=value at column %d: %r" % (i, line))
        key = m.group(1)
        i = m.end()
        if i < n and line[i] == '"':
            i += 1
            value = []
            while True:
                if i >= n:
                    raise ValueError("control response: unterminated quoted value: %r" % line)
                c = line[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    if i + 1 >= n:
                        raise ValueError("control response: bad escape: %r" % line)
                    e = line[i + 1]
                    if e == "x":
                        value.append(chr(int(line[i + 2:i + 4], 16)))
                        i += 4
                    else:
                        value.append(e)
                        i += 2
                    continue
                value.append(c)
                i += 1
            out[key] = "".join(value)
        else:
            j = i
            while j < n and line[j] not in " \t":
                j += 1
            out[key] = line[i:j]
            i = j
    return out


class ControlClient:
    """One connection to a control socket, for one module (`selector` "@n") or all ("@all").

    Every method sends one request and waits for its response (`timeout` seconds); an ERR
    response raises ControlError. Actions answer once the change is made; what follows (a
    boot, URCs) happens on the module's own time: wait for it with `wait_status()` or by
    reading the port.
    """

    def __init__(self, path: str, selector: Optional[Union[int, str]] = None,
                 timeout: float = 10.0):
        self.path = str(path)
        if isinstance(selector, int):
            selector = "@%d" % selector
        if selector is not None and not selector.startswith("@"):
            raise ValueError("a selector is @<index>, @<set> or @all, not %r" % (selector,))
        self.selector = selector
        self.timeout = timeout
        self._sock: Optional[socket.socket] = None
        self._rbuf = b""
        self._lock = threading.Lock()

    # --- the connection ------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        if self._sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            try:
                s.connect(self.path)
            except OSError as e:
                s.close()
                raise ControlError("control socket %s: cannot connect: %s" % (self.path, e))
            self._sock = s
            self._rbuf = b""
        return self._sock

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, command: str) -> str:
        """Sends one request line (the selector is put in front) and returns the response line.

        Raises ControlError on ERR, on a broken connection and on a timeout.
        """
        if "\n" in command or "\r" in command:
            raise ValueError("one request is one line: %r" % command)
        return self._send(command if self.selector is None
                          else "%s %s" % (self.selector, command))

    def _send(self, line: str) -> str:
        with self._lock:
            sock = self._connect()
            try:
                sock.sendall(line.encode("ascii") + b"\n")
                while b"\n" not in self._rbuf:
                    chunk = sock.recv(65536)
                    if not chunk:
                        sock.close()
                        self._sock = None
                        raise ControlError("control socket %s: closed before answering %r"
                                           % (self.path, line), request=line)
                    self._rbuf += chunk
            except (OSError, socket.timeout) as e:
                sock.close()
                self._sock = None
                raise ControlError("control socket %s: %r: %s" % (self.path, line, e),
                                   request=line)
            raw, self._rbuf = self._rbuf.split(b"\n", 1)
        response = raw.decode("latin-1").rstrip("\r")
        if response.startswith("ERR"):
            raise ControlError("control socket: %r answered %r" % (line, response),
                               request=line, reason=response[4:])
        return response

    def _action(self, command: str) -> None:
        self.request(command)

    # --- actions -------------------------------------------------------------------------

    def power(self, state: str) -> None:
        """"on" (the power key), "off" (orderly power-down) or "cut" (supply removed)."""
        if state not in ("on", "off", "cut"):
            raise ValueError("power on|off|cut, not %r" % (state,))
        self._action("power " + state)

    def power_on(self) -> None:
        self.power("on")

    def power_off(self) -> None:
        self.power("off")

    def power_cut(self) -> None:
        self.power("cut")

    def reset(self) -> None:
        """Power cut followed by power on (the RESET_N pin)."""
        self._action("reset")

    def dtr(self, level: Union[str, bool]) -> None:
        """The host's DTR line: "low"/"high" (or False/True)."""
        if isinstance(level, bool):
            level = "high" if level else "low"
        if level not in ("low", "high"):
            raise ValueError("dtr low|high, not %r" % (level,))
        self._action("dtr " + level)

    def net_reg(self, stat: Union[int, str]) -> None:
        """Registration: 0/none, 1/home, 2/searching, 3/denied, 4/unknown, 5/roaming."""
        self._action("net reg %s" % (stat,))

    def net_csq(self, rssi: int) -> None:
        """Signal as AT+CSQ reports it: 0-31, or 99."""
        self._action("net csq %d" % rssi)

    def net_rat(self, rat: str) -> None:
        """"emtc" or "nbiot"."""
        self._action("net rat %s" % rat)

    def net_pdpdeact(self, cid: int) -> None:
        """The network deactivates PDP context `cid` (1-15)."""
        self._action("net pdpdeact %d" % cid)

    def net_attach(self, allow: Union[bool, str]) -> None:
        """True/"allow": PS attach allowed; False/"refuse": refused (detached)."""
        if isinstance(allow, bool):
            allow = "allow" if allow else "refuse"
        if allow not in ("allow", "refuse"):
            raise ValueError("net attach allow|refuse, not %r" % (allow,))
        self._action("net attach " + allow)

    def net_apn(self, apn: Optional[str]) -> None:
        """The only APN the network accepts for data; None (or "any"): any APN.

        The socket reads requests case-insensitively: the APN reaches the module in lower case.
        """
        if apn is None:
            apn = "any"
        if not apn or any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in apn):
            raise ValueError("an APN here is one word of printable ASCII: %r" % (apn,))
        self._action("net apn " + apn)

    def flash_fail(self, mode: str = "once") -> None:
        """"once": the next flash program/erase fails; "always": every one from now on."""
        if mode not in ("once", "always"):
            raise ValueError("flash fail once|always, not %r" % (mode,))
        self._action("flash fail " + mode)

    def flash_cut(self, n: int) -> None:
        """Power is cut at the n-th flash program/erase from now."""
        self._action("flash cut %d" % n)

    def flash_off(self) -> None:
        """No more flash faults."""
        self._action("flash off")

    # --- queries -------------------------------------------------------------------------

    def status(self) -> Dict[str, str]:
        """The module's state as a dict of the socket's keys and values (strings, as sent).

        With a selector naming several modules ("@all", "@1,3") the keys carry the module's
        index ("0.power"); `status_all()` splits them.
        """
        return parse_response(self.request("status"))

    def status_all(self) -> Dict[int, Dict[str, str]]:
        """{index: status} of every module the selector names (all modules when none is set)."""
        selector = self.selector or "@all"
        flat = parse_response(self._send(selector + " status"))
        single = re.fullmatch(r"@(\d+)", selector)
        if single:  # one module: plain keys
            return {int(single.group(1)): flat}
        out: Dict[int, Dict[str, str]] = {}
        for key, value in flat.items():
            index, _, name = key.partition(".")
            out.setdefault(int(index), {})[name] = value
        return out

    def modules(self) -> int:
        """How many modules the program runs."""
        return int(parse_response(self.request("modules"))["count"])

    def help(self) -> Dict[str, str]:
        return parse_response(self.request("help"))

    def wait_status(self, timeout: float = 10.0, poll: float = 0.01,
                    **expected: Union[str, int]) -> Dict[str, str]:
        """Polls `status()` until every given key has the given value; returns that status.

        The socket pushes nothing, so polling is how to wait for a module-side change
        (docs/control.md): e.g. ``wait_status(power="normal", boots=2)``. Raises TimeoutError
        with the last status.
        """
        want = {k: str(v) for k, v in expected.items()}
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if all(status.get(k) == v for k, v in want.items()):
                return status
            if time.monotonic() >= deadline:
                raise TimeoutError("control socket %s: status did not reach %s within %.1f s; "
                                   "last: %s" % (self.path, want, timeout, status))
            time.sleep(poll)

    def __repr__(self) -> str:
        return "ControlClient(%r, selector=%r)" % (self.path, self.selector)
