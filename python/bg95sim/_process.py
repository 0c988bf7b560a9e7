"""Child processes of the package: started to die with their parent, stopped with SIGTERM."""

from __future__ import annotations

import ctypes
import signal
import subprocess
from typing import Optional, Sequence


try:  # resolved here, not in the child: after fork only the call itself is made
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: SIGTERM when the Python process that started it goes (Linux)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(argv: Sequence[str], env: Optional[dict] = None) -> subprocess.Popen:
    """The program with stdout and stderr piped, no stdin."""
    return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env,
                            preexec_fn=_die_with_parent if _prctl is not None else None)


def terminate(proc: subprocess.Popen, timeout: float) -> bool:
    """SIGTERM and wait; SIGKILL when it has not exited within `timeout`. True if killed."""
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


def exit_status(proc: subprocess.Popen, output_closed: bool) -> Optional[int]:
    """Its exit status, or None while it runs; once its output has ended it is exiting:
    wait a moment for it (the status a start-up failure reports)."""
    code = proc.poll()
    if code is None and output_closed:
        try:
            code = proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    return code
