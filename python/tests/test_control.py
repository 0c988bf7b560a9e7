"""The control socket from Python (no bg95ctl): status as a dict, every action, errors."""

import socket

import pytest

from bg95sim import ControlClient, ControlError, parse_response

FRESH_STATUS = {
    "power": "normal", "mode": "command", "firmware": "BG95M3LAR02A03_01.011.01.011",
    "revision": "BG95M3LAR02A03", "package": "none", "dfota": "idle", "progress": "0",
    "dtr": "high", "boots": "1", "attached": "1", "cfun": "1", "csq": "26",
    "last_error": "none", "model": "BG95-M3", "pdp": "1", "rat": "emtc", "reg": "1",
    # The radio link's data faults (docs/network.md), none set.
    "net_connect": "ok", "net_dns": "ok", "net_latency": "0", "net_loss": "0",
    "net_stall": "off",
}


def test_status_is_a_dict_of_the_sockets_keys(bg95):
    status = bg95.status()
    assert status == FRESH_STATUS
    # The socket's own order: the first nine keys as docs/control.md lists them.
    assert list(status)[:9] == ["power", "mode", "firmware", "revision", "package", "dfota",
                                "progress", "dtr", "boots"]
    assert bg95.control.modules() == 1
    assert bg95.control.help()["selector"] == "@<index>|@<i>,<j>-<k>|@all (default @0)"
    assert bg95.control_all.status_all() == {0: FRESH_STATUS}
    # The raw line is there too.
    assert bg95.control.request("status").startswith("OK power=normal mode=command ")


def test_network_actions_reach_the_at_port(bg95):
    c = bg95.control
    c.net_csq(10)
    assert bg95.cmd("AT+CSQ") == "\r\n+CSQ: 10,99\r\n\r\nOK\r\n"
    c.net_reg("searching")
    assert bg95.cmd("AT+CEREG?") == "\r\n+CEREG: 0,2\r\n\r\nOK\r\n"
    c.net_reg(1)
    c.net_rat("nbiot")
    assert bg95.status()["rat"] == "nbiot"
    c.net_attach(False)
    assert bg95.cmd("AT+CGATT?") == "\r\n+CGATT: 0\r\n\r\nOK\r\n"
    assert bg95.cmd("AT+CGATT=1") == "\r\nERROR\r\n"
    c.net_attach("allow")
    assert bg95.cmd("AT+CGATT=1") == "\r\nOK\r\n"
    assert bg95.status()["attached"] == "1"
    c.net_apn("corp")
    c.net_apn(None)
    with pytest.raises(ValueError):
        c.net_apn("two words")
    c.dtr(False)
    assert bg95.status()["dtr"] == "low"
    c.dtr("high")
    assert bg95.status()["dtr"] == "high"


def test_pdp_deactivation_by_the_network(bg95):
    assert bg95.cmd("AT+QIACT=1") == "\r\nOK\r\n"
    bg95.control.net_pdpdeact(1)
    bg95.expect('+QIURC: "pdpdeact",1\r\n')
    with pytest.raises(ControlError) as caught:
        bg95.control.net_pdpdeact(3)  # not active
    assert caught.value.request == "@0 net pdpdeact 3"
    assert caught.value.reason != ""


def test_power_actions(bg95):
    c = bg95.control
    bg95.at
    c.power_off()
    c.wait_status(power="off")
    c.power_on()
    bg95.expect("+QIND: SMS DONE\r\n")
    assert bg95.at.before.startswith("\r\nRDY\r\n")
    c.power_cut()
    assert c.wait_status(power="off")["mode"] == "none"
    c.power("on")
    status = c.wait_status(power="normal", boots=3)
    assert status["cfun"] == "1"
    c.reset()
    c.wait_status(boots=4)
    with pytest.raises(ValueError):
        c.power("sideways")


def test_flash_faults_are_taken_and_errors_are_raised(bg95):
    c = bg95.control
    c.flash_fail("once")
    c.flash_fail("always")
    c.flash_cut(5)
    c.flash_off()
    with pytest.raises(ControlError) as caught:
        c.request("flash fail sometimes")
    assert caught.value.reason == ("usage: flash fail once|always | flash cut <n> | flash off"
                                   " | flash slow <ms>")
    with pytest.raises(ControlError) as caught:
        c.request("bogus")
    assert caught.value.reason == 'unknown command "bogus" (try help)'
    # The connection stays usable after an error.
    assert c.status()["power"] == "normal"
    with pytest.raises(ControlError) as caught:
        ControlClient(str(bg95.control_path), "@3").status()
    assert caught.value.reason == "no module @3 (there is 1)"


def test_fleet_selectors(bg95_fleet):
    fleet = bg95_fleet(3)
    fleet[1].control.net_csq(5)
    everything = fleet.control_all.status_all()
    assert sorted(everything) == [0, 1, 2]
    assert [everything[i]["csq"] for i in range(3)] == ["26", "5", "26"]
    assert fleet[1].status() == everything[1]
    assert fleet[1].cmd("AT+CSQ") == "\r\n+CSQ: 5,99\r\n\r\nOK\r\n"
    assert fleet[0].cmd("AT+CSQ") == "\r\n+CSQ: 26,99\r\n\r\nOK\r\n"
    assert ControlClient(str(fleet.control_path), "@0,2").status_all().keys() == {0, 2}
    assert fleet.control.modules() == 3


def test_parse_response_unquotes_values():
    assert parse_response('OK operator="Telstra Mobile" x="a\\"b\\\\c\\x41" n=1') == \
        {"operator": "Telstra Mobile", "x": 'a"b\\cA', "n": "1"}
    assert parse_response("OK") == {}
    with pytest.raises(ControlError):
        parse_response("ERR no module @3 (there is 1)")
    with pytest.raises(ValueError):
        parse_response("hello")


def test_the_client_speaks_the_raw_protocol(bg95):
    # What the client sends is exactly one line per request: the same answer by hand.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(str(bg95.control_path))
        s.sendall(b"@0 net csq 17\nstatus\n")
        data = b""
        while data.count(b"\n") < 2:
            data += s.recv(4096)
    first, second = data.decode().splitlines()
    assert first == "OK"
    assert parse_response(second)["csq"] == "17"
    assert bg95.status()["csq"] == "17"
