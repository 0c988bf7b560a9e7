"""Module and AtPort against a real bg95sim on its real pty: exact bytes."""

import os
import re
import stat

import pytest

from bg95sim import (AtTimeout, Module, ModuleError, PortClosed, StartError, options_to_args)

ATI = "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n"
BANNER = ("\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\nAPP RDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n"
          "\r\n+QIND: SMS DONE\r\n")


def test_cmd_returns_the_answer_up_to_the_final_result_code(bg95):
    assert bg95.port.startswith("/dev/pts/")
    assert stat.S_ISCHR(os.stat(bg95.port).st_mode)
    answer = bg95.cmd("ATI")
    assert answer == ATI
    assert answer.result == "OK" and answer.ok
    assert answer.lines == ["Quectel", "BG95-M3", "Revision: BG95M3LAR02A03", "OK"]
    assert answer.body == ["Quectel", "BG95-M3", "Revision: BG95M3LAR02A03"]
    # The echo (ATE1 on a new state) is the command line and its CR; kept when asked for.
    assert bg95.cmd("ATI", echo=True) == "ATI\r" + ATI
    # A command ended with CR alone, as V.25ter has it; a chain of two commands.
    assert bg95.cmd("AT+CSQ;+CEREG?", end="\r") == \
        "\r\n+CSQ: 26,99\r\n\r\n+CEREG: 0,1\r\n\r\nOK\r\n"
    # Nothing is left over: the answers were consumed exactly.
    assert bg95.at.pending == ""
    assert bg95.at.sent == "ATI\r\nATI\r\nAT+CSQ;+CEREG?\r"


def test_cmd_ends_at_every_kind_of_final_result_code(bg95):
    assert bg95.cmd("AT+BOGUS") == "\r\nERROR\r\n"
    assert bg95.cmd("AT+CMEE=2") == "\r\nOK\r\n"
    answer = bg95.cmd('AT+QFDEL="nonexist.txt"')
    assert answer == "\r\n+CME ERROR: file not found\r\n"
    assert answer.result == "+CME ERROR: file not found" and not answer.ok
    # CONNECT: the module waits for the file's bytes, then answers +QFUPL and OK.
    assert bg95.cmd('AT+QFUPL="UFS:a.txt",5') == "\r\nCONNECT\r\n"
    bg95.send("hello")
    bg95.expect("OK\r\n")
    assert bg95.at.before == "\r\n+QFUPL: 5,6b09\r\n\r\n"
    # With echo off nothing is stripped, and the answer is the same bytes.
    assert bg95.cmd("ATE0") == "\r\nOK\r\n"
    assert bg95.cmd("ATI", echo=True) == ATI
    assert bg95.cmd("AT+QFLST=\"UFS:a.txt\"") == '\r\n+QFLST: "UFS:a.txt",5\r\n\r\nOK\r\n'


def test_expect_consumes_through_the_match_and_keeps_what_came_after(bg95):
    bg95.at  # the port is open before the reset: the host sees the whole banner
    bg95.control.reset()
    match = bg95.expect("APP RDY")
    assert match.group(0) == "APP RDY"
    assert bg95.at.before == "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n"
    match = bg95.expect(re.compile(r"\+CPIN: (\w+)\r\n"))
    assert match.group(1) == "READY"
    assert bg95.at.before == "\r\n\r\n"
    bg95.expect(r"\+QIND: SMS DONE\r\n", regex=True)
    assert bg95.at.before == "\r\n+QUSIM: 1\r\n\r\n"
    assert bg95.at.received == BANNER
    assert bg95.at.pending == ""
    assert bg95.status()["boots"] == "2"


def test_what_arrived_before_a_command_stays_for_expect(bg95):
    assert bg95.cmd("AT+CEREG=1") == "\r\nOK\r\n"
    bg95.control.net_reg("roaming")
    bg95.expect("+CEREG: 5\r\n", consume=False)  # it is there, and still pending
    assert bg95.at.pending == "\r\n+CEREG: 5\r\n"
    # A command sent now: its answer leaves the URC out, and the URC stays pending.
    assert bg95.cmd("AT+CSQ") == "\r\n+CSQ: 26,99\r\n\r\nOK\r\n"
    assert bg95.at.pending == "\r\n+CEREG: 5\r\n"
    bg95.expect("+CEREG: 5\r\n")
    assert bg95.at.before == "\r\n" and bg95.at.pending == ""
    assert bg95.cmd("AT+CEREG?") == "\r\n+CEREG: 1,5\r\n\r\nOK\r\n"
    assert bg95.at.received == ("AT+CEREG=1\r\r\nOK\r\n\r\n+CEREG: 5\r\nAT+CSQ\r\r\n+CSQ: 26,99\r\n\r\n"
                                "OK\r\nAT+CEREG?\r\r\n+CEREG: 1,5\r\n\r\nOK\r\n")


def test_timeouts_say_what_arrived(bg95):
    bg95.cmd("AT")
    bg95.control.net_csq(7)  # no URC: nothing arrives
    with pytest.raises(AtTimeout) as caught:
        bg95.expect("+QIND: SMS DONE", timeout=0.2)
    assert "no '+QIND: SMS DONE' within 0.2 s; received ''" in str(caught.value)
    bg95.send("AT+CSQ\r\n")
    with pytest.raises(AtTimeout) as caught:
        bg95.expect("never", timeout=0.5)
    assert caught.value.received == "AT+CSQ\r\r\n+CSQ: 7,99\r\n\r\nOK\r\n"


@pytest.mark.parametrize("backend", ["os", "pyserial"])
def test_both_serial_backends(bg95, backend):
    if backend == "pyserial":
        pytest.importorskip("serial")
    with bg95[0].open(backend=backend) as port:
        assert port.backend == backend
        assert port.cmd("ATI") == ATI
        assert port.cmd("ATI", echo=True, end="\r") == "ATI\r" + ATI


def test_a_given_state_folder_keeps_settings_across_runs(tmp_path):
    state = tmp_path / "my-state"
    with Module(state=state, workdir=tmp_path / "one") as m:
        assert m.state == state
        assert m.cmd("ATE0;&W") == "\r\nOK\r\n"
        transcript = m.transcript
    assert m.returncode == 0
    assert (state / "settings.json").is_file() and (state / "flash.bin").is_file()
    assert "host> ATE0;&W\\r\\n" in transcript.read_text()
    with Module(state=state, workdir=tmp_path / "two") as m:
        assert m.cmd("ATI", echo=True) == ATI  # echo off, saved with AT&W


def test_temporary_folders_go_at_stop_and_the_exit_status_is_returned():
    m = Module("--csq", "9")
    try:
        workdir, control = m.workdir, m.control_path
        assert m.argv[-2:] == ["--csq", "9"]
        assert m.cmd("AT+CSQ") == "\r\n+CSQ: 9,99\r\n\r\nOK\r\n"
        assert m.transcript == workdir / "transcript.txt"
        assert m.transcript_jsonl == workdir / "transcript.jsonl"
        assert stat.S_ISSOCK(os.stat(control).st_mode)
        port = m.at
        assert m.running
    finally:
        assert m.stop() == 0
    assert not m.running and m.returncode == 0
    assert not workdir.exists() and not control.exists()
    assert port.closed
    with pytest.raises(PortClosed):
        port.cmd("AT")
    assert m.stop() == 0  # idempotent


def test_a_module_that_cannot_start_says_why(tmp_path):
    with pytest.raises(StartError) as caught:
        Module(workdir=tmp_path, model="BG95-M9")
    text = str(caught.value)
    assert "exited with status" in text and "BG95-M9" in text
    with pytest.raises(ValueError):
        Module("--state", str(tmp_path))


def test_a_module_that_dies_is_reported(tmp_path):
    m = Module(workdir=tmp_path)
    port = m.at
    m.proc.kill()  # a crash, as far as the host sees it
    with pytest.raises(PortClosed):
        port.expect("OK", timeout=10)
    with pytest.raises(ModuleError) as caught:
        m.stop()
    assert "exited with status -9" in str(caught.value)


def test_fleet_from_the_fixture(bg95_fleet):
    fleet = bg95_fleet(3, csq=20)
    assert len(fleet) == 3 and fleet.count == 3
    assert len(set(fleet.ports)) == 3
    assert [m.number for m in fleet] == [1, 2, 3]
    imeis = set()
    for m in fleet:
        answer = m.cmd("AT+CGSN")
        assert re.fullmatch(r"\r\n\d{15}\r\n\r\nOK\r\n", answer)
        imeis.add(answer.body[0])
        assert m.cmd("AT+CSQ") == "\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
        assert m.transcript.name == "transcript-%04d.txt" % m.number
    assert len(imeis) == 3
    assert "host> AT+CGSN\\r\\n" in fleet[2].transcript_text()


@pytest.mark.bg95sim(csq=12, model="BG77")
def test_the_marker_gives_the_module_its_options(bg95):
    assert "--csq" in bg95.argv and "BG77" in bg95.argv
    assert bg95.cmd("AT+CSQ") == "\r\n+CSQ: 12,99\r\n\r\nOK\r\n"
    assert bg95.cmd("AT+CGMM") == "\r\nBG77\r\n\r\nOK\r\n"


def test_options_to_args():
    assert options_to_args({"csq": 20, "unregistered": True, "percent_sign": False,
                            "cut_power_at_update": [30, 60], "model": None}) == \
        ["--csq", "20", "--unregistered", "--cut-power-at-update", "30", "60"]
