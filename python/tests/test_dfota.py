"""DFOTA end to end: images and package from dfota-pack, bg95-pkgserver on 127.0.0.1 with
ephemeral ports, a real module on its pty; scenarios through bg95sim --scenario."""

import re

import pytest

from bg95sim import (DfotaPackError, Module, PackageServer, PackageServerError, fault_to_text,
                     inspect, make_images_and_package)

from conftest import REPO

SIZE = 256 * 1024


def fota(phase, value=None):
    return '\r\n+QIND: "FOTA","%s"%s\r\n' % (phase, "" if value is None else ",%d" % value)


def test_make_images_and_package(tmp_path):
    files = make_images_and_package(tmp_path / "pkg", size=SIZE)
    assert (files.old_revision, files.new_revision) == ("BG95M3LAR02A03", "BG95M3LAR02A04")
    assert files.old_version == "BG95M3LAR02A03_01.011.01.011"
    assert files.new_version == "BG95M3LAR02A04_01.012.01.012"
    assert files.old.stat().st_size == SIZE
    assert files.package == tmp_path / "pkg" / "update.bin"
    assert files.package_size == files.package.stat().st_size
    package = inspect(files.package)
    assert package["source"] == "BG95M3LAR02A03_01.011.01.011 (%d bytes)" % SIZE
    assert package["target"].startswith("BG95M3LAR02A04_01.012.01.012 (")
    named = make_images_and_package(tmp_path / "named", size=SIZE, bump_revision=False,
                                    revision="BG95M3LAR02A09", package_name="p.bin")
    assert named.new_revision == "BG95M3LAR02A09" and named.package.name == "p.bin"
    (tmp_path / "junk").write_bytes(b"not an image")
    with pytest.raises(DfotaPackError):
        inspect(tmp_path / "junk")


@pytest.mark.bg95sim(firmware_size=SIZE)
def test_dfota_over_http_byte_for_byte(bg95, package_server):
    files = make_images_and_package(package_server.root, size=SIZE)
    url = package_server.url("/update.bin")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/update\.bin", url)
    assert package_server.port() == int(url.split(":")[2].split("/")[0]) != 0

    assert bg95.cmd('AT+QFOTADL="%s"' % url) == "\r\nOK\r\n"
    bg95.expect('+QIND: "FOTA","END",0\r\n', timeout=30)
    urcs = (fota("HTTPSTART") + "".join(fota("DOWNLOADING", p) for p in range(1, 101))
            + fota("HTTPEND", 0) + fota("RESETTING") + fota("START")
            + "".join(fota("UPDATING", p) for p in range(1, 101)))
    assert bg95.at.before + '+QIND: "FOTA","END",0\r\n' == urcs + fota("END", 0)
    bg95.expect("+QIND: SMS DONE\r\n")
    assert bg95.at.before == ("\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\nAPP RDY\r\n\r\n"
                              "+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n")
    assert bg95.cmd("AT+CGMR") == "\r\nBG95M3LAR02A04\r\n\r\nOK\r\n"
    assert bg95.cmd("ATI") == "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A04\r\n\r\nOK\r\n"
    status = bg95.status()
    assert (status["firmware"], status["revision"]) == (files.new_version, files.new_revision)
    assert (status["dfota"], status["progress"], status["boots"]) == ("idle", "100", "2")
    line = package_server.wait_request("GET /update.bin")
    assert re.fullmatch(r"http 127\.0\.0\.1:\d+ GET /update\.bin -> 200 %d bytes complete"
                        % files.package_size, line)


@pytest.mark.bg95sim(firmware_size=SIZE)
@pytest.mark.package_server(faults=[{"path": "/update.bin", "status": 500},
                                    "/truncated.bin:truncate_at=1000"])
def test_server_faults_give_the_notes_codes(bg95, package_server):
    make_images_and_package(package_server.root, size=SIZE)
    (package_server.root / "truncated.bin").write_bytes(
        (package_server.root / "update.bin").read_bytes())
    for path, code in (("/update.bin", 703), ("/truncated.bin", 701), ("/missing.bin", 706)):
        assert bg95.cmd('AT+QFOTADL="%s"' % package_server.url(path)) == "\r\nOK\r\n"
        bg95.expect(fota("HTTPEND", code))
        assert bg95.at.before.startswith(fota("HTTPSTART"))
    assert [re.sub(r":\d+ ", ":P ", line) for line in package_server.requests] == [
        "http 127.0.0.1:P GET /update.bin -> 500 26 bytes complete [status=500] (status fault)",
        "http 127.0.0.1:P GET /truncated.bin -> 200 1000 bytes truncated [truncate_at=1000]",
        "http 127.0.0.1:P GET /missing.bin -> 404 14 bytes complete (no such file)",
    ]
    assert bg95.status()["revision"] == "BG95M3LAR02A03"


def test_package_server_listeners_and_stop(tmp_path):
    with PackageServer(tmp_path, http=0, https=0, coap=0, coaps=0, psk="bg95:secret",
                       pki=tmp_path / "pki") as server:
        assert sorted(server.urls) == ["coap", "coaps", "http", "https"]
        for proto in server.urls:
            assert re.fullmatch(r"%s://127\.0\.0\.1:\d+/" % proto, server.urls[proto])
        assert server.ca_file == tmp_path / "pki" / "ca.pem" and server.ca_file.is_file()
        assert server.pki_dir == tmp_path / "pki"
        assert server.url("/x.bin", "coaps").startswith("coaps://127.0.0.1:")
    assert server.returncode == 0
    assert server.log[-1] == "bg95-pkgserver: stopped"
    with pytest.raises(PackageServerError) as caught:
        PackageServer(tmp_path / "missing")
    assert "Directory does not exist" in str(caught.value)
    with pytest.raises(PackageServerError) as caught:
        PackageServer(tmp_path, faults=["/x:nonsense=1"])
    assert "exited with status 2" in str(caught.value)


def test_fault_rules_as_dicts():
    assert fault_to_text({"path": "/update.bin", "truncate_at": 300000,
                          "requests": "first"}) == "/update.bin:truncate_at=300000,requests=first"
    assert fault_to_text({"protocol": ["coap", "coaps"], "drop": 3}) == ":protocol=coap+coaps,drop=3"
    assert fault_to_text({"corrupt": {"offset": 1000, "count": 16},
                          "requests": {"nth": 2}}) == ":corrupt=1000+16,requests=nth/2"
    assert fault_to_text({"tls_wrong_ca": True}) == ":tls_wrong_ca"
    with pytest.raises(ValueError):
        fault_to_text({"path": "/x"})


def test_scenario_fixture_runs_the_rules_while_the_test_is_the_host(bg95_scenario):
    m = bg95_scenario(REPO / "scenarios" / "power-cut-during-update.yaml")
    assert m.scenario_vars["package.update.target_revision"] == "BG95M3LAR02A04"
    server = m.scenario_vars["server.http"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server)
    assert m.cmd('AT+QFOTADL="%s/update.bin"' % server) == "\r\nOK\r\n"
    # The scenario's rule cuts the power at UPDATING 43 % and powers the module on again.
    line = m.wait_output('rule "cut-at-43" fired')
    assert line == ('bg95sim: rule "cut-at-43" fired (UPDATING 43 %, occurrence 1): '
                    'power_cut; power_on after 200 ms')
    m.expect(fota("START"))   # DFOTA mode after the power-up
    m.expect(fota("END", 0))
    m.expect("+QIND: SMS DONE\r\n")
    assert m.cmd("AT+CGMR") == "\r\nBG95M3LAR02A04\r\n\r\nOK\r\n"
    events = [e for e in m.transcript_events() if e["type"] == "event"]
    assert [e["text"] for e in events if e["kind"] == "power"].count("power cut") == 1
    assert 'rule "cut-at-43" fired' in m.transcript_text()
