#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ (docs/reliability.md, "Fuzzing").

Seeds come from the test suites (AT lines, URLs), the reference notes, real packages and images
made small with dfota-pack (path given by --dfota-pack), and the scenario files of scenarios/
with broken variants of them. Run from anywhere:

    python3 tests/fuzz/make_corpus.py --dfota-pack build/sim/dfota-pack
    python3 tests/fuzz/make_corpus.py --only fuzz_scenario   # one target's seeds

Reproducers of bugs the fuzzers found live beside these as regression-* files; this script
never deletes them.
"""
import argparse
import hashlib
import os
import re
import struct
import subprocess
import tempfile

RS = b"\x1e"  # fuzz_at_line's separator of host writes; doubled, the byte itself
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def c_literals(path):
    """The C string literals of a source file, unescaped (no concatenation)."""
    text = open(path, encoding="utf-8").read()
    out = []
    for m in re.finditer(r'(?<![R\w])"((?:[^"\\\n]|\\.)*)"', text):
        try:
            out.append(bytes(m.group(1), "utf-8").decode("unicode_escape").encode("latin-1"))
        except (UnicodeDecodeError, UnicodeEncodeError):
            pass
    return out


# ---- AT lines ---------------------------------------------------------------------------

def at_lines():
    lines = set()
    tests = os.path.join(ROOT, "tests")
    for name in sorted(os.listdir(tests)):
        if not name.endswith(".cpp"):
            continue
        for lit in c_literals(os.path.join(tests, name)):
            if lit[:2].upper() == b"AT" and b"\r\n" not in lit and len(lit) < 300:
                lines.add(lit if lit.endswith(b"\r") else lit + b"\r")
    # From the note and docs/module-behaviour (chapter 2 and 3 examples).
    lines.update(x.encode() for x in [
        'AT+QFOTADL="https://www.quectel.com:100/update.zip"\r',
        'AT+QFOTADL="coap://127.0.0.1:5683/dfota/update.bin"\r',
        'AT+QFOTADL="COM:",2048,5\r',
        'AT+QFOTADL="/data/ufs/dfota_update.bin"\r',
        'AT+QCFGEXT="fota_apn",1,"internet"\r',
        'AT+QCFGEXT="fota_apn"\r',
        'AT+QFUPL="dfota_update.bin",10,5,1\r',
        'AT+QFLST="*"\r', 'AT+QFLDS="UFS"\r', 'AT+QFDEL="*"\r',
        'AT+QLWCFG="security",0,1,"coap://127.0.0.1:5683",0,3,"id","7465"\r',
        'AT+QLWCFG="epns",0,"bs","dev1"\r', 'AT+QLWCFG="version",1\r',
        'AT+QLWSVC="reg"\r', 'AT+QLWSVC="state"\r', 'AT+QLWSVC="dereg"\r',
        'AT+CSQ;+CEREG?;+CGREG?;+COPS?\r', 'ATE0V0\r', 'ATI\r', 'AT&V\r', 'ATS3?\r',
        'ATS5=8\r', 'A/', 'AT+QCSQ\r', 'AT+QCCID\r', 'AT+CIMI\r', 'AT+CSCS="IRA"\r',
        'AT+CREG=2;+CGREG=2;+CEREG=2\r', 'AT+CFUN=0\r', 'AT+QNWINFO\r',
    ])
    return sorted(lines)


def at_corpus(dfota_pack, work):
    for i, line in enumerate(at_lines()):
        write("fuzz_at_line", "line-%03d" % i, line)
    # Whole sessions: an upload that ends by size and by "+++", and a DFOTA from a package
    # uploaded to the file system (the widely used host updater's flow), against the 16 KiB
    # image fuzz_at_line boots.
    write("fuzz_at_line", "session-upload",
          'AT+QFUPL="a.txt",5,5\rhello\x1eAT+QFLST\r\x1eAT+QFDWL="a.txt"\r')
    write("fuzz_at_line", "session-escape", 'AT+QFUPL="b",100,5\rabc\x1e+++\x1eAT+QFLST="*"\r')
    if dfota_pack:
        src, dst, pkg = (os.path.join(work, n) for n in ("src.img", "dst.img", "pkg.bin"))
        subprocess.run([dfota_pack, "firmware", "--size", "16384", "-o", src], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([dfota_pack, "firmware", "--from", src, "--change", "0.1", "-o", dst],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([dfota_pack, "diff", src, dst, "-o", pkg], check=True,
                       stdout=subprocess.DEVNULL)
        raw = open(pkg, "rb").read()
        size = len(raw)
        package = raw.replace(RS, RS + RS)  # a doubled RS is the byte itself
        write("fuzz_at_line", "session-dfota-ufs",
              b'AT+QFUPL="dfota_update.bin",%d,5\r' % size + RS + package + RS +
              b'AT+QFOTADL="/data/ufs/dfota_update.bin"\r' + RS + b"AT+QGMR\r")
        write("fuzz_at_line", "session-dfota-com",
              b'AT+QFOTADL="COM:",%d,5\r' % size + RS + package + RS + b"AT+CGMR\r")


# ---- URLs -------------------------------------------------------------------------------

def url_corpus():
    urls = {lit for lit in c_literals(os.path.join(ROOT, "tests", "url_test.cpp"))
            if b"://" in lit or lit.lower().startswith((b"http", b"coap"))}
    urls.update([b"https://www.quectel.com:100/update.zip", b"HTTP://127.0.0.1/a?b#c",
                 b"coaps://[::1]:5684/fw/pkg.bin?x=1", b"CoAP://10.0.0.1/p%20q"])
    for i, url in enumerate(sorted(urls)):
        write("fuzz_url", "url-%03d" % i, url)


# ---- images and packages ----------------------------------------------------------------

def package_corpus(dfota_pack, work):
    if not dfota_pack:
        return
    src, dst, dst2, pkg, pkg2 = (os.path.join(work, n) for n in
                                 ("s4.img", "d4.img", "d8.img", "p4.bin", "p8.bin"))
    run = lambda *a: subprocess.run([dfota_pack, *a], check=True, stdout=subprocess.DEVNULL)
    run("firmware", "--size", "4096", "-o", src)  # what fuzz_package uses as its source
    run("firmware", "--from", src, "--change", "0.2", "-o", dst)
    run("firmware", "--from", src, "--change", "0.05", "--bump-revision", "-o", dst2)
    run("diff", src, dst, "-o", pkg)
    run("diff", src, dst2, "--level", "3", "-o", pkg2)
    for name, path in (("small", pkg), ("bump", pkg2)):
        data = open(path, "rb").read()
        write("fuzz_package", "raw-" + name, b"\x00" + data)           # as it is: applies
        write("fuzz_package", "sealed-" + name, b"\x03" + data[:-32])  # resealed
        write("fuzz_package", "stream1-" + name, b"\x03" + data[:-32])
        write("fuzz_package", "stream-small-" + name, bytes([0x03 | (1 << 2)]) + data[:-32])
    image = open(src, "rb").read()
    write("fuzz_image", "raw-image", b"\x00" + image)
    write("fuzz_image", "sealed-image", b"\x03" + image)
    write("fuzz_image", "header-only", b"\x01" + image[:256])
    write("fuzz_image", "target-image", b"\x00" + open(dst2, "rb").read())


# ---- LwM2M codecs -----------------------------------------------------------------------

def codec_corpus():
    # Selector: low 3 bits (mod 7) the codec, bits 3.. the value type (String, Integer, Float,
    # Boolean, Opaque, Time, None).
    def sel(codec, type_index=0):
        return bytes([codec | (type_index << 3)])
    seeds = {
        "tlv-resource": sel(0) + bytes([0xC8, 0x00, 0x14]) + b"Open Mobile Alliance",
        "tlv-instance": sel(0) + bytes([0x08, 0x00, 0x0B, 0xC1, 0x03, 0x05, 0xE1, 0x01, 0x2C,
                                        ord("x"), 0x86, 0x08, 0x41, 0x00, 0x00]),
        "tlv-multiple": sel(0) + bytes([0x86, 0x08, 0x41, 0x00, 0x00, 0x41, 0x01, 0x01]),
        "tlv-long": sel(0) + bytes([0xD8, 0x01, 0x00, 0x01]) + b"\xab",
        "text-int": sel(1, 1) + b"-1234567890", "text-float": sel(1, 2) + b"2.5e-3",
        "text-bool": sel(1, 3) + b"1", "text-time": sel(1, 5) + b"1700000000",
        "text-string": sel(1, 0) + b"Quectel",
        "tlvvalue-int8": sel(2, 1) + bytes([0x80, 0, 0, 0, 0, 0, 0, 0]),
        "tlvvalue-float4": sel(2, 2) + struct.pack(">f", 1.5),
        "tlvvalue-float8": sel(2, 2) + struct.pack(">d", -0.1),
        "tlvvalue-bool": sel(2, 3) + b"\x01",
        "links": sel(3) + b'</1/0>,</3/0>;ver=1.0,</5/0>,</3303>;pmin=5;pmax="60"',
        "links-rt": sel(3) + b'</>;rt="oma.lwm2m";ct=110,</1/0/1>',
        "senml-read": sel(4) + b'[{"bn":"/3/0/","n":"0","vs":"Quectel"},{"n":"9","v":-5},'
                               b'{"n":"13","v":1700000000},{"n":"20","v":2.5},{"n":"21","vb":true},'
                               b'{"n":"22","vd":"-_8"},{"n":"11/0","v":0}]',
        "senml-write": sel(4) + b'[{"bn":"/5/0/","n":"1","vs":"http://x/y"},{"n":"0","vd":"AAE="},'
                                b'{"n":"9","v":3},{"bn":"/1/0/","n":"6","vb":false},'
                                b'{"n":"21","bv":10,"v":2},{"bn":"/3/0/0","bt":0,"t":0,"vs":"x"}]',
        "base64": sel(5) + b"SGVsbG8gd29ybGQ=", "base64url": sel(5) + b"-_8",
        "path": sel(6) + b"/5/0/3", "path-root": sel(6) + b"/",
    }
    for name, data in seeds.items():
        write("fuzz_lwm2m_codec", name, data)


# ---- CoAP messages ----------------------------------------------------------------------

def coap_option_bytes(options):
    """Options as (number, bytes), encoded with deltas (RFC 7252 3.1)."""
    out = b""
    last = 0
    for number, value in sorted(options, key=lambda o: o[0]):
        delta, length = number - last, len(value)
        last = number

        def nib(v):
            if v < 13:
                return v, b""
            if v < 269:
                return 13, bytes([v - 13])
            return 14, struct.pack(">H", v - 269)
        d, dx = nib(delta)
        n, lx = nib(length)
        out += bytes([(d << 4) | n]) + dx + lx + value
    return out


def uint(v):
    if v == 0:
        return b""
    return v.to_bytes((v.bit_length() + 7) // 8, "big")


def pdu(mtype, code, mid, token, options, payload=b""):
    head = bytes([0x40 | (mtype << 4) | len(token), code]) + struct.pack(">H", mid) + token
    return head + coap_option_bytes(options) + ((b"\xff" + payload) if payload else b"")


def code(c, d):
    return (c << 5) | d


ETAG, URI_PATH, CONTENT_FORMAT, URI_QUERY, ACCEPT, BLOCK2, BLOCK1, SIZE2, OBSERVE = \
    4, 11, 12, 15, 17, 23, 27, 28, 6


def framed(*pdus):
    return b"".join(bytes([len(p)]) + p for p in pdus)


def coap_corpus():
    tok = b"\x12\x34"
    body = bytes(range(256)) * 2
    # Download mode (bit 0 clear), SZX 4 (64-byte blocks) and 6.
    blocks = [pdu(2, code(2, 5), 1 + i, tok,
                  [(ETAG, b"\xe7"), (BLOCK2, uint((i << 4) | (0x08 if i < 3 else 0) | 2))] +
                  ([(SIZE2, uint(200))] if i == 0 else []), body[i * 64:(i + 1) * 64][:64 if i < 3 else 8])
              for i in range(4)]
    write("fuzz_coap_message", "download-blocks", bytes([2 << 1]) + framed(*blocks))
    write("fuzz_coap_message", "download-one", bytes([6 << 1]) +
          framed(pdu(2, code(2, 5), 7, tok, [(CONTENT_FORMAT, uint(42))], b"whole body")))
    write("fuzz_coap_message", "download-404", b"\x0c" + framed(pdu(2, code(4, 4), 9, tok, [])))
    changed = pdu(2, code(2, 5), 3, tok, [(ETAG, b"\x01"), (BLOCK2, uint((1 << 4) | 0x08 | 2))],
                  body[:64])
    write("fuzz_coap_message", "download-etag-change", bytes([2 << 1]) + framed(blocks[0], changed))
    # LwM2M mode (bit 0 set): requests from a server.
    def path(p):
        return [(URI_PATH, s.encode()) for s in p.strip("/").split("/")]
    requests = [
        pdu(0, code(0, 1), 20, tok, path("/3/0/0")),
        pdu(0, code(0, 1), 21, tok, path("/3/0") + [(ACCEPT, uint(11542))]),
        pdu(0, code(0, 1), 22, tok, path("/3/0") + [(ACCEPT, uint(110))]),
        pdu(0, code(0, 1), 23, tok, path("/1") + [(ACCEPT, uint(40))]),
        pdu(0, code(0, 3), 24, tok, path("/1/0/1") + [(CONTENT_FORMAT, uint(0))], b"3600"),
        pdu(0, code(0, 3), 25, tok, path("/1/0/1") + [(URI_QUERY, b"pmin=5"), (URI_QUERY, b"pmax=60")]),
        pdu(0, code(0, 1), 26, tok, [(OBSERVE, b"")] + path("/3/0/13")),
        pdu(0, code(0, 2), 27, tok, path("/5/0/2")),
        pdu(0, code(0, 3), 28, tok, path("/5/0/1") + [(CONTENT_FORMAT, uint(0))], b"coap://127.0.0.1/p"),
        pdu(0, code(0, 3), 29, tok, path("/5/0/0") + [(CONTENT_FORMAT, uint(42)),
                                                      (BLOCK1, uint(0x08 | 2))], body[:64]),
        pdu(0, code(0, 3), 30, tok, path("/5/0/0") + [(CONTENT_FORMAT, uint(42)),
                                                      (BLOCK1, uint((1 << 4) | 2))], body[64:100]),
        pdu(0, code(0, 1), 31, tok, path("/5/0/9") + [(BLOCK2, uint(0))]),
        pdu(0, code(0, 2), 32, tok, path("/1/0") + [(CONTENT_FORMAT, uint(11542))],
            bytes([0xC1, 0x01, 0x3C])),
        pdu(0, code(0, 4), 33, tok, path("/3/0")),
        pdu(0, code(0, 1), 34, tok, path("/3303/0/5700")),
    ]
    write("fuzz_coap_message", "lwm2m-session", b"\x01" + framed(*requests))
    for i, r in enumerate(requests):
        write("fuzz_coap_message", "lwm2m-%02d" % i, b"\x01" + framed(r))


# ---- data mode --------------------------------------------------------------------------

def data_mode_corpus():
    def rec(gap16, chunk, dtr=False, reset=False):
        return bytes([gap16 | (0x40 if dtr else 0) | (0x80 if reset else 0), len(chunk)]) + chunk
    seeds = {
        "upload-complete": rec(0, b"AT+UP=5\r") + rec(0, b"hello"),
        "escape": rec(0, b"AT+UP=20\r") + rec(1, b"abc") + rec(20, b"+++") + rec(20, b"AT+UP?\r"),
        "pluses-are-data": rec(0, b"AT+UP=10\r") + rec(2, b"ab+++cd"),
        "late-plus": rec(0, b"AT+UP=10\r") + rec(16, b"+") + rec(17, b"++") + rec(0, b"x"),
        "split-escape": rec(0, b"AT+UP=10\r") + rec(16, b"++") + rec(8, b"+") + rec(16, b"AT\r"),
        "dtr-drop": rec(0, b"AT+UP=10\r") + rec(0, b"abc", dtr=True) + rec(0, b"AT+UP?\r"),
        "reset": rec(0, b"AT+UP=10\rab", reset=True) + rec(0, b"AT\r"),
        "lines": rec(0, b"ATE0\rAT+UP=?\rAT+UP=0\rAT+UP=65\r"),
    }
    for name, data in seeds.items():
        write("fuzz_data_mode", name, data)


# ---- scenario files ---------------------------------------------------------------------

def scenario_corpus():
    """The library's scenario files as they are, and small broken variants (syntax, schema,
    nesting, aliases) that reach the parser's error paths."""
    folder = os.path.join(ROOT, "scenarios")
    files = sorted(n for n in os.listdir(folder) if n.endswith(".yaml"))
    for name in files:
        write("fuzz_scenario", "scenario-" + name[:-5], open(os.path.join(folder, name), "rb").read())
    first = open(os.path.join(folder, "http-update.yaml"), "rb").read()
    broken = {
        "truncated": first[:len(first) // 2],
        "tab-indent": first.replace(b"\n  ", b"\n\t"),
        "unknown-key": first.replace(b"host:", b"hots:", 1),
        "empty": b"",
        "scalar": b"just text\n",
        "list": b"- name: a\n- name: b\n",
        "flow": b"{name: x, timeout: 5s, rules: [{when: {at: 1s}, do: power_cut}]}\n",
        "nested-lists": b"rules: " + b"[" * 300 + b"]" * 300 + b"\n",
        "nested-maps": b"server: " + b"{a: " * 300 + b"b" + b"}" * 300 + b"\n",
        "aliases": b"rules:\n  - &r {when: {at: 1s}, do: [log: x]}\n  - *r\n  - *r\n",
        "bad-regex": b"rules:\n  - {when: {command: '(AT'}, do: {respond: [OK]}}\n",
        "respond-lines": b"rules:\n  - {when: {command: 'CSQ'}, do: {respond: [\"+CSQ: 99,99\", OK]}}\n",
        "count-forms": b"rules:\n  - {when: {urc: 'END'}, count: {every: 2}, do: reset}\n"
                       b"  - {when: {flash_write: 3}, count: {nth: 1}, do: torn_write}\n",
        "host-steps": b"host:\n  timeout: 2s\n  steps:\n    - open: usb\n    - {port: usb, send: \"AT\\r\"}\n"
                      b"    - expect: {pattern: '^OK', timeout: 1s}\n    - expect_not: {text: ERROR, within: 50ms}\n"
                      b"    - pause: 10ms\n    - baud: 9600\n    - do: [{network: {reg: searching}}]\n"
                      b"    - lwm2m: {write: /5/0/1, value: \"x\"}\n",
        "server-keys": b"server:\n  http: 0\n  https: {port: 0, client_cert: true}\n"
                       b"  coaps: {port: 0, psk: {identity: a, key_hex: \"0a0b\"}}\n"
                       b"  files: {/a.txt: {text: hello}}\n  max_block_size: 64\n"
                       b"  faults:\n    - {path: \"*\", requests: {every: 2}, status: 4.04}\n"
                       b"    - {protocol: [http], corrupt: [{offset: 1K, count: 2}], stall_after: 1K, stall_for: 1s}\n",
        "server-action": b"server: {http: 0}\nrules:\n  - {when: {at: 1s}, do: {server: {faults: [{drop: 3}]}}}\n",
        "durations-sizes": b"timeout: 1.5min\nmodule:\n  firmware: {size: 4KiB, seed: 0x10}\n"
                           b"  timing: {scale: 0.02, download_timeout: 250ms, guard_time: 1e3ms}\n"
                           b"packages:\n  p: {random: 1e3, truncate: 10KB, corrupt: {offset: 1MiB}}\n",
    }
    for name, data in broken.items():
        write("fuzz_scenario", "broken-" + name, data)


def cmux_frame(dlci, control, info, cr=1):
    """A 27.010 basic option frame (docs/cmux-ppp.md): FCS over address, control and length."""
    header = bytes([dlci << 2 | cr << 1 | 1, control])
    header += bytes([len(info) << 1 | 1]) if len(info) < 128 else struct.pack(
        "<H", len(info) << 1)
    fcs = 0xFF
    for b in header:
        fcs ^= b
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0xE0 if fcs & 1 else fcs >> 1
    return b"\xf9" + header + info + bytes([0xFF - fcs]) + b"\xf9"


def cmux_corpus():
    """What Zephyr's modem_cellular (quectel_bg95) and gsm0710muxd send after AT+CMUX=0,0,5,127:
    SABM on DLCI 0-2, MSCs, AT on DLC 1, a long frame, a bad FCS; N1 127 in the first two bytes."""
    n1 = b"\x00\x7e"
    sabm = [cmux_frame(d, 0x3F, b"") for d in range(3)]
    msc = cmux_frame(0, 0xEF, b"\xe3\x05\x07\x0d")
    at = cmux_frame(1, 0xEF, b"AT+CEREG?\r")
    write("fuzz_cmux_frame", "open-and-at", n1 + b"".join(sabm) + msc + at)
    write("fuzz_cmux_frame", "long-length", b"\x01\x00" + cmux_frame(2, 0xEF, bytes(200)))
    bad = bytearray(at)
    bad[-2] ^= 0xFF
    write("fuzz_cmux_frame", "bad-fcs", n1 + bytes(bad) + cmux_frame(0, 0xEF, b"\xc3\x01"))
    write("fuzz_cmux_frame", "disc", n1 + cmux_frame(2, 0x53, b"") + cmux_frame(0, 0x53, b""))


def ppp_fcs16(data):
    fcs = 0xFFFF
    for b in data:
        fcs ^= b
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs ^ 0xFFFF


def ppp_frame(protocol, info):
    """RFC 1662 framing with every control character escaped (the default ACCM)."""
    body = b"\xff\x03" + struct.pack(">H", protocol) + info
    body += struct.pack("<H", ppp_fcs16(body))
    out = bytearray(b"\x7e")
    for b in body:
        if b < 0x20 or b in (0x7D, 0x7E):
            out += bytes([0x7D, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out) + b"\x7e"


def ppp_corpus():
    """An LCP/PAP/IPCP exchange as lwIP's PPPoS starts it, and a DNS query over IPv4/UDP."""
    lcp = ppp_frame(0xC021, b"\x01\x01\x00\x0e\x02\x06\x00\x00\x00\x00\x05\x06\x12\x34\x56\x78")
    pap = ppp_frame(0xC023, b"\x01\x02\x00\x0e\x04user\x04pass")
    ipcp = ppp_frame(0x8021, b"\x01\x03\x00\x16\x03\x06\x00\x00\x00\x00\x81\x06\x00\x00\x00\x00"
                     b"\x83\x06\x00\x00\x00\x00")
    write("fuzz_ppp_frame", "negotiation", b"\x60" + lcp + pap + ipcp)
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
    udp = struct.pack(">HHHH", 40000, 53, 8 + len(query), 0) + query
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([10, 65, 0, 2]), bytes([10, 64, 0, 1]))
    write("fuzz_ppp_frame", "dns-query", b"\x60" + ppp_frame(0x0021, ip + udp))


def mqtt_corpus():
    """What mosquitto sends a client: CONNACK, SUBACK, PUBLISH at QoS 0-2, PUBREL, PINGRESP."""
    def packet(first, body):
        n, rl = len(body), b""
        while True:
            d, n = n % 128, n // 128
            rl += bytes([d | (0x80 if n else 0)])
            if not n:
                return bytes([first]) + rl + body
    topic = b"\x00\x0bdevices/one"
    stream = (packet(0x20, b"\x00\x00") + packet(0x90, b"\x00\x01\x00\x01\x02") +
              packet(0x30, topic + b"hello") + packet(0x32, topic + b"\x00\x07qos1") +
              packet(0x35, topic + b"\x00\x08qos2 retained") + packet(0x62, b"\x00\x08") +
              packet(0xD0, b""))
    write("fuzz_mqtt_reader", "session", b"\x40\x10" + stream)
    write("fuzz_mqtt_reader", "large", b"\xff\x03" + packet(0x30, topic + bytes(3000)))


def http_response_corpus():
    """Responses as nginx and cpp-httplib send them to AT+QHTTPGET (docs/http-app.md): a
    Content-Length body, 100 Continue then a chunked body with a trailer, a body until the close,
    204, and a repeated Content-Length. Byte 0: the body limit / 32; byte 1: the
    read size - 1."""
    write("fuzz_http_response", "length",
          b"\x40\x07HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\nhello")
    write("fuzz_http_response", "continue-chunked",
          b"\x40\x03HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nTrailer: t\r\n\r\n")
    write("fuzz_http_response", "until-close",
          b"\x02\x10HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nuntil the close")
    write("fuzz_http_response", "no-content", b"\x01\x00HTTP/1.1 204 No Content\r\n\r\n")
    write("fuzz_http_response", "two-lengths",
          b"\x40\xffHTTP/1.1 201 Created\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dfota-pack", help="dfota-pack binary (for the package and image seeds)")
    ap.add_argument("--only", action="append", metavar="TARGET",
                    help="rewrite only this target's seeds (repeatable; default all)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        makers = {
            "fuzz_at_line": lambda: at_corpus(args.dfota_pack, work),
            "fuzz_url": url_corpus,
            "fuzz_package": lambda: package_corpus(args.dfota_pack, work),  # and fuzz_image
            "fuzz_lwm2m_codec": codec_corpus,
            "fuzz_coap_message": coap_corpus,
            "fuzz_data_mode": data_mode_corpus,
            "fuzz_scenario": scenario_corpus,
            "fuzz_cmux_frame": cmux_corpus,
            "fuzz_ppp_frame": ppp_corpus,
            "fuzz_mqtt_reader": mqtt_corpus,
            "fuzz_http_response": http_response_corpus,
        }
        for target in args.only or makers:
            if target not in makers:
                ap.error("no seeds are made for %s (known: %s)" % (target, ", ".join(makers)))
            makers[target]()


if __name__ == "__main__":
    main()
