#!/usr/bin/env python3
"""Figures for the closing notes of the DFOTA issues, measured in one run on this machine:

  * raw pty pair throughput (the machine's floor for any serial emulator),
  * AT+QFOTADL="COM:" upload of 6 MiB through bg95sim in the fast profile,
  * a whole fast-profile DFOTA cycle over HTTP on loopback (AT+QFOTADL to the reboot banner).

Usage: scripts/bench_port.py [build dir]   (prints a table; not part of the tests)
"""
import http.server
import os
import pty
import select
import subprocess
import sys
import tempfile
import threading
import time
import tty

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "build")
SIM = os.path.join(BUILD, "sim", "bg95sim")
PACK = os.path.join(BUILD, "sim", "dfota-pack")
SIZE = 6 * 1024 * 1024
CHUNK = 2048


def write_all(fd, data):
    view = memoryview(data)
    while view:
        _, w, _ = select.select([], [fd], [])
        n = os.write(fd, view[:65536])
        view = view[n:]


def read_until(fd, needle, timeout=120):
    buf = b""
    end = time.monotonic() + timeout
    while needle not in buf:
        r, _, _ = select.select([fd], [], [], max(0, end - time.monotonic()))
        if not r:
            raise TimeoutError(f"waiting for {needle!r}, got {buf[-200:]!r}")
        buf += os.read(fd, 65536)
    return buf


def raw_pty_throughput():
    master, slave = pty.openpty()
    tty.setraw(slave)
    data = os.urandom(SIZE)
    got = 0

    def reader():
        nonlocal got
        while got < SIZE:
            got += len(os.read(master, 65536))

    t = threading.Thread(target=reader)
    start = time.monotonic()
    t.start()
    # The same writer as the upload below, so that only the receiving side differs.
    for off in range(0, SIZE, CHUNK):
        write_all(slave, data[off:off + CHUNK])
    t.join()
    elapsed = time.monotonic() - start
    os.close(master)
    os.close(slave)
    return SIZE / elapsed


def start_sim(state, extra=()):
    link = state + ".port"
    proc = subprocess.Popen([SIM, "--state", state, "--link", link, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    proc.stdout.readline()
    fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    for _ in range(100):
        os.write(fd, b"AT\r")
        try:
            read_until(fd, b"OK\r\n", 0.2)
            break
        except TimeoutError:
            pass
    os.write(fd, b"ATE0\r")
    read_until(fd, b"OK\r\n")
    return proc, fd


def com_upload(tmp):
    proc, fd = start_sim(os.path.join(tmp, "upload"))
    data = os.urandom(SIZE)
    os.write(fd, b'AT+QFOTADL="COM:",%d\r' % SIZE)
    read_until(fd, b"CONNECT\r\n")
    start = time.monotonic()
    for off in range(0, SIZE, CHUNK):
        write_all(fd, data[off:off + CHUNK])
    read_until(fd, b"OK\r\n")
    elapsed = time.monotonic() - start
    proc.terminate()
    proc.wait()
    os.close(fd)
    return SIZE / elapsed


def dfota_cycle(tmp, image_size):
    tmp = os.path.join(tmp, f"cycle{image_size}")
    os.mkdir(tmp)
    old, new, pkg = (os.path.join(tmp, n) for n in ("old.img", "new.img", "update.bin"))
    subprocess.run([PACK, "firmware", "--model", "BG95-M3", "--size", str(image_size), "-o", old],
                   check=True, capture_output=True)
    subprocess.run([PACK, "firmware", "--from", old, "--change", "0.03", "--bump-revision", "-o", new],
                   check=True, capture_output=True)
    subprocess.run([PACK, "diff", old, new, "-o", pkg, "--level", "19"], check=True, capture_output=True)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=tmp, **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proc, fd = start_sim(os.path.join(tmp, "state"), ["--firmware-size", str(image_size)])
    start = time.monotonic()
    os.write(fd, b'AT+QFOTADL="http://127.0.0.1:%d/update.bin"\r' % server.server_address[1])
    out = read_until(fd, b"+QIND: SMS DONE\r\n")
    elapsed = time.monotonic() - start
    assert b'"END",0' in out, out[-300:]
    proc.terminate()
    proc.wait()
    server.shutdown()
    return elapsed, os.path.getsize(pkg), os.path.getsize(new)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_pty_throughput()
        com = com_upload(tmp)
        cycles = [dfota_cycle(tmp, size) for size in (4 * 1024 * 1024, 16 * 1024 * 1024)]
    print(f"{'figure':52} {'value':>14}")
    print(f"{'raw pty pair, 2048-byte writes':52} {raw / 1e6:>10.1f} MB/s")
    label = 'AT+QFOTADL="COM:" 6 MiB upload, fast profile'
    print(f"{label:52} {com / 1e6:>10.1f} MB/s")
    print(f"{'  upload / raw pty':52} {100 * com / raw:>12.0f} %")
    for cycle, pkg, image in cycles:
        label = f"whole DFOTA cycle over HTTP, {image} B image, {pkg} B package"
        print(f"{label:72} {cycle:>8.2f} s")


if __name__ == "__main__":
    main()
