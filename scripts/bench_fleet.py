#!/usr/bin/env python3
"""Fleet benchmark (issue 8): N modules in one bg95sim process all run a whole DFOTA over
HTTP from one local server at once, fast profile, 1 MiB firmware images.

Prints per N: start-up time, RSS while idle (total and per module), wall time of the
concurrent DFOTA (AT+QFOTADL sent to every module until every one printed END,0 and the
reboot banner), CPU time of the process, peak RSS, and how many ended with END,0 and the
target revision. Writes a CSV line per N to the file given with --csv.

Usage: scripts/bench_fleet.py [--build build] [--counts 10,100,1000] [--csv out.csv]
                              [--download-threads N] [--results bench/results.csv]

--download-threads is passed to bg95sim (its pool of HTTP download threads; default: bg95sim's).
"""
import argparse
import http.server
import os
import re
import resource
import select
import subprocess
import tempfile
import threading
import time
import tty

IMAGE = 1024 * 1024


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def disk_mb(folder):
    """Space the state folders take on disk (allocated blocks; the flash files are sparse)."""
    total = 0
    for root, dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total / (1024 * 1024)


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def run(build, n, tmp, server_port, target_revision, download_threads=None):
    sim = os.path.join(build, "sim", "bg95sim")
    state = os.path.join(tmp, f"fleet{n}")
    links = os.path.join(tmp, f"p{n}-{{}}")
    t0 = time.monotonic()
    args = [sim, "--count", str(n), "--state", state, "--link", links, "--firmware-size", str(IMAGE)]
    if download_threads:
        args += ["--download-threads", str(download_threads)]
    proc = subprocess.Popen(args,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if "fleet of" in line or (n == 1 and "ready on" in line):
            break
    startup = time.monotonic() - t0
    fds = []
    for i in range(1, n + 1):
        fd = os.open(links.format(i), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd)
        fds.append(fd)
    # Wait until every module answers (they ignore input while booting).
    pending = set(fds)
    bufs = {fd: b"" for fd in fds}
    while pending:
        for fd in list(pending):
            os.write(fd, b"ATE0\r")
        end = time.monotonic() + 0.5
        while pending and time.monotonic() < end:
            r, _, _ = select.select(list(pending), [], [], 0.1)
            for fd in r:
                bufs[fd] += os.read(fd, 65536)
                if b"OK\r\n" in bufs[fd]:
                    pending.discard(fd)
    idle_rss = rss_kb(proc.pid)
    idle_disk = disk_mb(state)
    cpu0 = cpu_s(proc.pid)
    t1 = time.monotonic()
    url = f'AT+QFOTADL="http://127.0.0.1:{server_port}/update.bin"\r'.encode()
    bufs = {fd: b"" for fd in fds}
    for fd in fds:
        os.write(fd, url)
    pending = set(fds)
    deadline = time.monotonic() + 600
    while pending and time.monotonic() < deadline:
        r, _, _ = select.select(list(pending), [], [], 1.0)
        for fd in r:
            try:
                bufs[fd] += os.read(fd, 65536)
            except BlockingIOError:
                continue
            # Done: rebooted on the new image, or the download failed (then no reboot comes).
            if b"+QIND: SMS DONE\r\n" in bufs[fd] or re.search(rb'"HTTPEND",[1-9]', bufs[fd]):
                pending.discard(fd)
    wall = time.monotonic() - t1
    cpu = cpu_s(proc.pid) - cpu0
    ok_end = sum(1 for fd in fds if b'"END",0\r\n' in bufs[fd])
    # Every module now runs the target: ask each.
    ok_rev = 0
    for fd in fds:
        os.write(fd, b"AT+CGMR\r")
    answers = {fd: b"" for fd in fds}
    pending = set(fds)
    end = time.monotonic() + 60
    while pending and time.monotonic() < end:
        r, _, _ = select.select(list(pending), [], [], 1.0)
        for fd in r:
            answers[fd] += os.read(fd, 65536)
            if b"OK\r\n" in answers[fd]:
                pending.discard(fd)
    ok_rev = sum(1 for fd in fds if target_revision.encode() in answers[fd])
    peak = hwm_kb(proc.pid)
    updated_disk = disk_mb(state)
    proc.terminate()
    proc.wait()
    for fd in fds:
        os.close(fd)
    failed = [re.search(rb'"HTTPEND",(\d+)', bufs[fd]) for fd in fds]
    errors = sorted({int(m.group(1)) for m in failed if m and m.group(1) != b"0"})
    return dict(n=n, threads=download_threads or "default", startup_s=startup, errors=" ".join(map(str, errors)) or "-", idle_rss_mb=idle_rss / 1024, rss_per_module_kb=idle_rss / n,
                dfota_wall_s=wall, dfota_cpu_s=cpu, peak_rss_mb=peak / 1024, end0=ok_end,
                disk_idle_mb=idle_disk, disk_updated_mb=updated_disk,
                target_revision=ok_rev)


def merge_results(path, rows):
    """Replaces the "fleet" rows of scripts/bench.sh's CSV with these measurements, so that
    scripts/plot_performance.py plots them."""
    import csv
    with open(path) as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        kept = [r for r in reader if r["group"] != "fleet"]
    new = []
    for r in rows:
        n = r["n"]
        note = f"{r['end0']}/{n} END,0; {r['target_revision']}/{n} target revision; 1 MiB images"
        for figure, value, unit in (
                ("wall time of N concurrent DFOTAs", f"{r['dfota_wall_s']:.2f}", "s"),
                ("CPU time of N concurrent DFOTAs", f"{r['dfota_cpu_s']:.2f}", "s"),
                ("peak RSS", f"{r['peak_rss_mb']:.1f}", "MiB"),
                ("RSS per idle module", f"{r['rss_per_module_kb'] / 1024:.3f}", "MiB"),
                ("disk of the state folders; idle", f"{r['disk_idle_mb']:.1f}", "MiB"),
                ("disk of the state folders; after the DFOTAs", f"{r['disk_updated_mb']:.1f}", "MiB")):
            new.append(dict(group="fleet", figure=f"fleet N={n}: {figure}", value=value, unit=unit,
                            baseline="", baseline_value="", ratio="", target="", met="-", runs="1",
                            note=note if "DFOTA" in figure else f"idle total {r['idle_rss_mb']:.1f} MiB; "
                                                              f"start-up {r['startup_s']:.2f} s"))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in new + kept:
            w.writerow(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    ap.add_argument("--counts", default="10,100,1000")
    ap.add_argument("--csv")
    ap.add_argument("--results", help="merge the fleet rows into this bench/results.csv")
    ap.add_argument("--download-threads", type=int, help="bg95sim --download-threads")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    pack = os.path.join(a.build, "sim", "dfota-pack")
    with tempfile.TemporaryDirectory() as tmp:
        old, new, pkg = (os.path.join(tmp, x) for x in ("old.img", "new.img", "update.bin"))
        subprocess.run([pack, "firmware", "--model", "BG95-M3", "--size", str(IMAGE), "-o", old],
                       check=True, capture_output=True)
        subprocess.run([pack, "firmware", "--from", old, "--change", "0.03", "--bump-revision", "-o", new],
                       check=True, capture_output=True)
        subprocess.run([pack, "diff", old, new, "-o", pkg, "--level", "3"], check=True, capture_output=True)
        info = subprocess.run([pack, "inspect", new], capture_output=True, text=True).stdout
        revision = next(l.split(":", 1)[1].strip() for l in info.splitlines() if "revision" in l)

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kw):
                super().__init__(*args, directory=tmp, **kw)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 4096  # a thousand modules connect at once

        server = Server(("127.0.0.1", 0), Quiet)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        rows = [run(a.build, int(n), tmp, server.server_address[1], revision, a.download_threads)
                for n in a.counts.split(",")]
        server.shutdown()
    cols = ["n", "threads", "startup_s", "idle_rss_mb", "rss_per_module_kb", "disk_idle_mb", "dfota_wall_s",
            "dfota_cpu_s", "peak_rss_mb", "disk_updated_mb", "end0", "target_revision", "errors"]
    print(" ".join(f"{c:>17}" for c in cols))
    for r in rows:
        print(" ".join(f"{r[c]:>17.2f}" if isinstance(r[c], float) else f"{r[c]:>17}" for c in cols))
    if a.results:
        merge_results(a.results, rows)
    if a.csv:
        with open(a.csv, "w") as f:
            f.write(",".join(cols) + "\n")
            for r in rows:
                f.write(",".join(str(r[c]) for c in cols) + "\n")


if __name__ == "__main__":
    main()
