"""The host side of a module's AT port: a serial connection with driver-style helpers.

`AtPort` opens the port (a pty, or its link), reads everything that arrives on a thread of its
own (so that the module never waits for the host, and nothing is lost while a test does
something else), and offers what host drivers do with a modem:

- `cmd("ATI")` sends a command line and returns the answer up to its final result code;
- `expect("+QIND: SMS DONE")` waits for a text (or a regular expression) in what arrives and
  consumes what came before it and the match itself, keeping what came after;
- `send(bytes)` writes raw bytes.

Bytes are mapped to text one to one (latin-1), so what a test compares is exactly what the
module sent. pyserial is used when it can be imported; otherwise plain os/termios/select.
"""

from __future__ import annotations

import errno
import os
import re
import select
import termios
import threading
import time
import tty
from typing import Optional, Union

__all__ = [
    "AtPort",
    "Answer",
    "AtError",
    "AtTimeout",
    "PortClosed",
    "FINAL_RESULT",
]

# The final result codes of V.25ter / 3GPP 27.007 that end a command's answer (verbose form,
# ATV1), each on a line of its own: "\r\nOK\r\n".
FINAL_RESULT = re.compile(
    r"\r\n(OK|ERROR|\+CME ERROR: [^\r\n]*|\+CMS ERROR: [^\r\n]*|CONNECT(?: [^\r\n]*)?"
    r"|NO CARRIER|NO DIALTONE|BUSY|NO ANSWER)\r\n"
)

Pattern = Union[str, bytes, "re.Pattern[str]"]


class AtError(Exception):
    """A problem talking to the port."""


class AtTimeout(AtError, TimeoutError):
    """What was waited for did not arrive in time. `received` holds what arrived instead."""

    def __init__(self, message: str, received: str):
        super().__init__(message)
        self.received = received


class PortClosed(AtError):
    """The other side of the port went away (the emulator stopped) or the port was closed."""


def _show(text: str, limit: int = 2000) -> str:
    """Text as a Python literal, the end kept when it is long."""
    if len(text) > limit:
        return "..." + repr(text[-limit:])
    return repr(text)


class Answer(str):
    """The answer to one command, as the module sent it (latin-1 text of the exact bytes).

    It is a `str`: compare it with the bytes you expect. Without the echo (the default) it runs
    from the first byte after the echo to the CR LF after the final result code, e.g.
    ``"\\r\\nQuectel\\r\\nBG95-M3\\r\\nRevision: BG95M3LAR02A03\\r\\n\\r\\nOK\\r\\n"``.
    """

    command: str
    echo: str
    result: str

    def __new__(cls, text: str, command: str, echo: str, result: str):
        self = super().__new__(cls, text)
        self.command = command
        self.echo = echo
        self.result = result
        return self

    @property
    def lines(self) -> list:
        """The non-empty lines of the answer, echo left out, final result code included."""
        body = self[len(self.echo):] if self.echo and self.startswith(self.echo) else str(self)
        return [line for line in re.split(r"\r\n|\r|\n", body) if line]

    @property
    def body(self) -> list:
        """The information lines: `lines` without the final result code."""
        return self.lines[:-1]

    @property
    def ok(self) -> bool:
        return self.result == "OK"


def _pyserial():
    try:
        import serial  # type: ignore
    except ImportError:
        return None
    return serial


class _OsBackend:
    """The port through os.open, termios (raw, 115200 8N1) and select."""

    name = "os"

    def __init__(self, path: str, baudrate: int):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            tty.setraw(self.fd)
            attrs = termios.tcgetattr(self.fd)
            speed = getattr(termios, "B%d" % baudrate)
            attrs[4] = attrs[5] = speed
            attrs[2] |= termios.CLOCAL | termios.CREAD
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        except Exception:
            os.close(self.fd)
            raise
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)

    def read(self) -> Optional[bytes]:
        """Blocks until bytes arrive; b"" when woken to stop; None at the end of the port."""
        while True:
            readable, _, _ = select.select([self.fd, self._wake_r], [], [])
            if self._wake_r in readable:
                return b""
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                return None  # EIO: the emulator closed its side
            if not data:
                return None
            return data

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                select.select([], [self.fd], [], 1.0)
                continue
            view = view[n:]

    def wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def close(self) -> None:
        for fd in (self.fd, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


class _PyserialBackend:
    """The port through pyserial (its DTR/RTS calls fail quietly on a pty, as pyserial allows)."""

    name = "pyserial"

    def __init__(self, path: str, baudrate: int):
        serial = _pyserial()
        if serial is None:
            raise AtError("pyserial is not installed")
        self._serial_module = serial
        self.port = serial.Serial(path, baudrate=baudrate, timeout=None)
        self._stop = False

    def read(self) -> Optional[bytes]:
        try:
            data = self.port.read(max(1, self.port.in_waiting))
        except self._serial_module.SerialException:
            return b"" if self._stop else None
        except (OSError, TypeError):
            return b"" if self._stop else None
        if not data and not self._stop:
            return None
        return data

    def write(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def wake(self) -> None:
        self._stop = True
        try:
            self.port.cancel_read()
        except Exception:
            pass

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:
            pass


class AtPort:
    """A host's connection to one AT port.

    `backend` is "pyserial", "os" or None (pyserial when importable, else os).
    """

    def __init__(self, path: str, *, backend: Optional[str] = None, baudrate: int = 115200,
                 default_timeout: float = 10.0):
        self.path = str(path)
        self.default_timeout = default_timeout
        if backend is None:
            backend = "pyserial" if _pyserial() is not None else "os"
        if backend == "pyserial":
            self._io = _PyserialBackend(self.path, baudrate)
        elif backend == "os":
            self._io = _OsBackend(self.path, baudrate)
        else:
            raise ValueError("backend must be 'pyserial', 'os' or None, not %r" % (backend,))
        self.backend = self._io.name
        self._cond = threading.Condition()
        self._pending = ""      # arrived, not consumed by expect()/cmd() yet
        self._received = []     # everything that arrived, in order (chunks)
        self._sent = []         # everything written
        self._eof = False
        self._closing = False
        self.before = ""        # what expect() skipped to reach its last match
        self._reader = threading.Thread(target=self._read_loop, name="bg95sim-port %s" % path,
                                        daemon=True)
        self._reader.start()

    # --- reading -------------------------------------------------------------------------

    def _read_loop(self) -> None:
        while True:
            data = self._io.read()
            with self._cond:
                if data is None or self._closing:
                    self._eof = True
                    self._cond.notify_all()
                    return
                if data:
                    text = data.decode("latin-1")
                    self._pending += text
                    self._received.append(text)
                    self._cond.notify_all()

    @property
    def received(self) -> str:
        """Everything that arrived since the port was opened."""
        with self._cond:
            return "".join(self._received)

    @property
    def sent(self) -> str:
        """Everything written since the port was opened."""
        with self._cond:
            return "".join(self._sent)

    @property
    def pending(self) -> str:
        """What arrived and was not consumed by expect() or cmd() yet."""
        with self._cond:
            return self._pending

    def take(self) -> str:
        """Consumes and returns everything pending."""
        with self._cond:
            text, self._pending = self._pending, ""
            return text

    def _wait(self, ready, timeout: Optional[float], what: str, since: int = 0):
        """Waits until ready(pending) returns something other than None and returns that.
        ready() is called with the lock held, so it may consume from self._pending."""
        if timeout is None:
            timeout = self.default_timeout
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = ready(self._pending)
                if result is not None:
                    return result
                if self._eof:
                    raise PortClosed("%s: the port closed while waiting for %s; received %s"
                                     % (self.path, what, _show(self._pending[since:])))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AtTimeout("%s: no %s within %.1f s; received %s"
                                    % (self.path, what, timeout, _show(self._pending[since:])),
                                    self._pending[since:])
                self._cond.wait(left)

    # --- writing -------------------------------------------------------------------------

    def send(self, data: Union[str, bytes]) -> None:
        """Writes the bytes as they are (text is encoded latin-1)."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        with self._cond:
            if self._closing:
                raise PortClosed("%s: the port is closed" % self.path)
            self._sent.append(data.decode("latin-1"))
        self._io.write(data)

    # --- driver helpers ------------------------------------------------------------------

    def cmd(self, command: str, timeout: Optional[float] = None, *, end: str = "\r\n",
            echo: bool = False) -> Answer:
        """Sends `command` + `end` and returns the answer up to its final result code.

        `end` is the line end ("\\r\\n" as most drivers send; "\\r" as V.25ter asks). Under
        ATE1 the module echoes the command line (the command and its CR) at the start of a
        line: the answer starts there; it is left out of the result with `echo=False` (the
        default) and kept with `echo=True`. Without an echo (ATE0) the answer starts with the
        first byte that arrives after the command was sent. It ends with the CR LF after the
        first final result code line: OK, ERROR, +CME ERROR: <n>, +CMS ERROR: <n>,
        CONNECT [<text>], NO CARRIER, NO DIALTONE, BUSY or NO ANSWER (verbose result codes,
        ATV1). What arrived before (the command was sent, or its echo) stays pending for
        expect(); the answer is consumed. A URC that arrives in the middle of the answer is
        part of it, as a driver would see it.
        """
        echo_text = command + "\r"
        with self._cond:
            mark = len(self._pending)
        self.send(command + end)

        def ready(pending: str):
            text = pending[mark:]
            # The echo starts a line (URCs may come before it: they stay pending).
            start = 0
            while True:
                start = text.find(echo_text, start)
                if start <= 0 or text[start - 1] == "\n":
                    break
                start += 1
            if start == -1:
                start, skip = 0, 0
            else:
                skip = len(echo_text)
            found = FINAL_RESULT.search(text, start + skip)
            if found is None:
                return None
            answer = text[start:found.end()]
            # Consumed: the echo and the answer; what came before the echo stays pending.
            self._pending = pending[:mark + start] + pending[mark + found.end():]
            return answer, skip, found.group(1)

        answer, skip, result = self._wait(ready, timeout,
                                          "final result code for %r" % command, mark)
        if echo:
            return Answer(answer, command, answer[:skip], result)
        return Answer(answer[skip:], command, "", result)

    def expect(self, pattern: Pattern, timeout: Optional[float] = None, *,
               regex: bool = False, consume: bool = True) -> "re.Match[str]":
        """Waits until `pattern` appears in what arrived; returns the match.

        `pattern` is literal text (str or bytes), or a regular expression: a compiled
        `re.Pattern`, or a str with `regex=True`. What came before the match (kept in
        `self.before`) and the match itself are consumed; what came after stays pending.
        With `consume=False` nothing is consumed: it only waits until the text is there.
        """
        if isinstance(pattern, bytes):
            pattern = pattern.decode("latin-1")
        if isinstance(pattern, str):
            compiled = re.compile(pattern if regex else re.escape(pattern))
        else:
            compiled = pattern

        def ready(pending: str):
            found = compiled.search(pending)
            if found is not None and consume:
                self.before = pending[:found.start()]
                self._pending = pending[found.end():]  # consumed up to the end of the match
            return found

        if isinstance(pattern, str) and not regex:
            what = repr(pattern)
        else:
            what = "/%s/" % compiled.pattern
        return self._wait(ready, timeout, what)

    # --- life ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closing or self._eof

    def close(self) -> None:
        """Stops the reader and closes the port (idempotent)."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
        self._io.wake()
        self._reader.join(5.0)
        self._io.close()

    def __enter__(self) -> "AtPort":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return "AtPort(%r, backend=%r)" % (self.path, self.backend)
