"""Loopback benchmark: the doctor's downloader against curl on a 256 MiB wheel, plus resume cost.

    python benchmarks/bench_download.py [--size-mib 256] [--reps 5] [--drops 4] [--json]

A separate server process serves the file with sendfile (so the server is never the bottleneck
and shares no GIL with the client). Each repetition runs every client once, in rotating order:
- curl:         `curl -s -o FILE URL` (no verification);
- transfer:     mamba_doctor.download.transfer.transfer into a `.part` (the streaming loop alone);
- fetch_files:  the whole fetch (lock, transfer, sha256 verification, rename, digest record);
- curl+sha256:  curl, then sha256 of the file (what a careful manual download costs);
- requests:     a plain `requests` iter_content(1 MiB) loop, for reference.
Reported: median throughput per client and the ratio of medians against curl. Then the server
drops the connection `--drops` times in one download and we report the bytes it had to send
again per interruption (the server counts every body byte it sent).
"""

from __future__ import annotations

# ruff: noqa: T201  # a benchmark script: printing its figures is its job
import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MIB = 1 << 20


def serve(path: Path, drops: list[int]) -> None:
    """Server process: GET /file.whl (Range-aware, sendfile), /drops.whl (hangs up at each
    offset in `drops`, once), /stats (body bytes sent per path, JSON)."""
    size = path.stat().st_size
    sent: dict[str, int] = {}
    pending = sorted(drops)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/stats":
                body = json.dumps(sent).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            start, status = 0, 200
            m = re.match(r"bytes=(\d+)-$", self.headers.get("Range", ""))
            if m:
                start, status = int(m.group(1)), 206
            cut = size
            if self.path == "/drops.whl":
                with lock:
                    while pending and pending[0] <= start:
                        pending.pop(0)
                    if pending:
                        cut = pending.pop(0)
            self.send_response(status)
            self.send_header("Content-Length", str(size - start))
            self.send_header("ETag", '"bench"')
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            self.wfile.flush()
            with open(path, "rb") as fh:
                n = self.connection.sendfile(fh, start, cut - start)
            with lock:
                sent[self.path] = sent.get(self.path, 0) + n
            if cut < size:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


def make_wheel(folder: Path, size: int) -> Path:
    """A valid wheel holding `size` bytes of random data (stored, so the file is ~`size`)."""
    import base64

    name = "bench_pkg-1.0-py3-none-any.whl"
    payload = os.urandom(size)
    files = {
        "bench_pkg/data.bin": payload,
        "bench_pkg-1.0.dist-info/METADATA":
            b"Metadata-Version: 2.1\nName: bench_pkg\nVersion: 1.0\n",
        "bench_pkg-1.0.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for p, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += f"{p},sha256={digest},{len(data)}\n"
    record += "bench_pkg-1.0.dist-info/RECORD,,\n"
    files["bench_pkg-1.0.dist-info/RECORD"] = record.encode()
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for p, data in files.items():
            zf.writestr(p, data)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--drops", type=int, default=4)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), [int(x) for x in args.serve[1].split(",") if x])
        return 0

    import requests

    from mamba_doctor.download.fetch import FetchRequest, fetch_files
    from mamba_doctor.download.transfer import make_session, transfer

    work = Path(tempfile.mkdtemp(prefix="bench-download-"))
    wheel = make_wheel(work, args.size_mib * MIB)
    size = wheel.stat().st_size
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    step = size // (args.drops + 1)
    drops = ",".join(str(step * (i + 1) + 12345) for i in range(args.drops))
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(wheel), drops],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline())  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/file.whl"
    curl = shutil.which("curl")
    session = make_session()
    env = dict(os.environ, NO_PROXY="*", no_proxy="*")
    os.environ.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")

    def run_curl() -> None:
        subprocess.run([curl, "-s", "-f", "--noproxy", "*", "-o", str(work / "c.whl"), url],
                       check=True, env=env)

    def run_curl_sha() -> None:
        run_curl()
        digest = hashlib.sha256()
        with open(work / "c.whl", "rb") as fh:
            for chunk in iter(lambda: fh.read(MIB), b""):
                digest.update(chunk)
        assert digest.hexdigest() == sha

    def run_transfer() -> None:
        part = work / "t.part"
        for p in (part, Path(f"{part}.json")):
            p.unlink(missing_ok=True)
        transfer(session, url, part, timeout=30, retries=0, allow_http=True)

    def run_fetch() -> None:
        cache = work / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        fetch_files([FetchRequest("bench_pkg", wheel.name, url, sha)], cache_dir=cache,
                    allow_http=True, session=session)

    def run_requests() -> None:
        with requests.get(url, stream=True, timeout=30) as resp, \
                open(work / "r.whl", "wb") as fh:
            for chunk in resp.iter_content(MIB):
                fh.write(chunk)

    clients = {"transfer": run_transfer, "fetch_files": run_fetch, "requests": run_requests}
    if curl:
        clients = {"curl": run_curl, "curl+sha256": run_curl_sha, **clients}
    else:
        print("curl not found: comparing against the plain requests loop only", file=sys.stderr)
    times: dict[str, list[float]] = {k: [] for k in clients}
    names = list(clients)
    run_transfer()  # warm the page cache and the server
    for rep in range(args.reps):
        order = names[rep % len(names):] + names[:rep % len(names)]
        for name in order:
            started = time.perf_counter()
            clients[name]()
            times[name].append(time.perf_counter() - started)
    mbps = {k: size / MIB / statistics.median(v) for k, v in times.items()}
    ref = "curl" if curl else "requests"

    # Interruptions: one download, the server hangs up `drops` times.
    cache = work / "cache-drops"
    result = fetch_files([FetchRequest("bench_pkg", wheel.name, f"{base}/drops.whl", sha)],
                         cache_dir=cache, allow_http=True, backoff=0.01, session=session)[0]
    stats = requests.get(f"{base}/stats", timeout=10).json()
    resent = stats["/drops.whl"] - size
    server.terminate()
    shutil.rmtree(work, ignore_errors=True)

    figures = {
        "size_bytes": size, "reps": args.reps, "reference": ref,
        "median_MiB_per_s": {k: round(v, 1) for k, v in mbps.items()},
        "ratio_vs_reference": {k: round(v / mbps[ref], 3) for k, v in mbps.items()},
        "drops": args.drops, "attempts": result.attempts,
        "bytes_resent_total": resent,
        "bytes_resent_per_interruption": resent / max(1, args.drops),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"{size / MIB:.0f} MiB over loopback, {args.reps} repetitions, medians:")
        for k, v in mbps.items():
            print(f"  {k:12s} {v:8.1f} MiB/s   x{v / mbps[ref]:.3f} of {ref}")
        print(f"{args.drops} interruptions in one download: {result.attempts} requests, "
              f"{resent} bytes sent again ({figures['bytes_resent_per_interruption']:.0f} "
              "per interruption)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
