"""A DFOTA that loses power at UPDATING 50 %, tested the way a driver team tests its updater.

The code under test is `update_firmware()`: what a host driver does for a Quectel DFOTA
(Quectel's BG95/BG77 DFOTA application note, the flow docs/dfota.md describes). It opens the
module's port, starts the download with AT+QFOTADL, follows the +QIND: "FOTA" URCs through
the download, the reset into DFOTA mode and the update, and waits for the module to come back
in command mode; then it reads the revision. In a driver team's repository this is their own
driver (C behind a serial port, or Python), pointed at the port bg95sim hands out.

The test gives it a real module on a pty (the `bg95` fixture) that loses power when the update
reaches 50 % and powers up again (bg95sim's --cut-power-at-update 50, through the marker), and
a real package server (the `package_server` fixture) serving a real delta package. The driver
must ride through the cut: after the power-up the module re-enters DFOTA mode ("START"),
resumes the update from its journal in flash and ends with END,0. What reached the port
before the cut may be lost with the power (output still queued in the UART goes with it), so
the driver must not count on seeing every URC; the test checks in the module's transcript
that the cut did happen at 50 %.

Why --cut-power-at-update rather than the control socket's `power cut`: in bg95sim's fast
profile the update runs faster than a host can react to "UPDATING",50, so a cut sent from the
test would land at whatever percentage the update had reached by then; the option cuts at
exactly 50 % every time. (The control socket is the tool for cuts at a moment the test
chooses: `bg95.control.power_cut()`, then `bg95.control.power_on()`.)

Run it (from the repository, after building):

    python3 -m pytest python/examples/test_dfota_power_cut.py -p bg95sim.pytest_plugin

with `python/` on PYTHONPATH, or without -p once the package is installed (pip install
./python). --bg95sim-build DIR names the build folder when it is not the repository's build/.
"""

import re
from dataclasses import dataclass, field
from typing import List

import pytest

from bg95sim import AtPort, make_images_and_package

FIRMWARE_SIZE = 256 * 1024  # a small image: the update takes a fraction of a second

FOTA_URC = re.compile(r'\+QIND: "FOTA","([A-Za-z ,]+?)"(?:,(\d+))?\r\n')


class UpdateFailed(Exception):
    pass


@dataclass
class UpdateResult:
    code: int                    # <err> of +QIND: "FOTA","END",<err>
    revision: str                # AT+CGMR after the update
    phases: List[str] = field(default_factory=list)  # every FOTA URC seen, in order


def update_firmware(port_path: str, url: str, timeout: float = 60.0) -> UpdateResult:
    """The driver's firmware update: download, update, reboot, check the revision."""
    with AtPort(port_path) as port:
        answer = port.cmd('AT+QFOTADL="%s"' % url)
        if not answer.ok:
            raise UpdateFailed("AT+QFOTADL answered %r" % answer.result)
        phases: List[str] = []
        while True:
            urc = port.expect(FOTA_URC, timeout)
            phase, value = urc.group(1), urc.group(2)
            phases.append(phase if value is None else "%s,%s" % (phase, value))
            if phase == "HTTPEND" and value != "0":
                raise UpdateFailed("download failed with %s: %s" % (value, phases))
            if phase == "END":
                code = int(value)
                break
        # After END the module reboots into the (new) firmware: wait for the end of its banner.
        port.expect("+QIND: SMS DONE\r\n", timeout)
        revision = port.cmd("AT+CGMR")
        if not revision.ok:
            raise UpdateFailed("AT+CGMR answered %r" % revision)
        return UpdateResult(code=code, revision=revision.body[0], phases=phases)


def last_progress_before_the_power_cut(events):
    """From the module's transcript: the UPDATING percentage it had reached when the power
    went (the test checks its own premise: the cut did happen, at 50 %)."""
    events = [e for e in events if e["type"] == "event"]
    cut = next(i for i, e in enumerate(events) if e["kind"] == "power" and e["text"] == "power cut")
    return [e for e in events[:cut] if e["kind"] == "update"][-1]["percent"]


@pytest.mark.bg95sim(cut_power_at_update=[50], firmware_size=FIRMWARE_SIZE)
def test_update_survives_a_power_cut_at_50_percent(bg95, package_server):
    files = make_images_and_package(package_server.root, size=FIRMWARE_SIZE)

    result = update_firmware(bg95.port, package_server.url("/update.bin"))

    assert result.code == 0
    assert result.revision == "BG95M3LAR02A04"
    assert last_progress_before_the_power_cut(bg95.transcript_events()) == 50
    assert bg95.status()["firmware"] == files.new_version
