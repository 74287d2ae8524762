"""Downloading a 5 MB file: GET /api/ir.attachment/<id>/binary/datas against
/jsonrpc ``ir.attachment`` ``read`` of ``datas`` (base64 in JSON, decoded by the client).

For each way: the time per download as a client gets the bytes (median of
BENCH_FILES_ROUNDS calls, one connection at a time), and the peak memory of the
worker that served it above its resident memory before the call (VmHWM,
reset before each call through /proc/<pid>/clear_refs; run as root or as the
server's user). The server is found by the port it listens on.

Environment: ACC_URL / ACC_DB / ACC_ADMIN_PASSWORD (the acceptance server, as
tools/bench.sh runs it), else REST_API_URL / REST_API_DB (``make run``: admin
password admin); BENCH_FILES_MB (5), BENCH_FILES_ROUNDS (15). Exits 1 unless
the route is at least 2x faster and its peak memory at most half of /jsonrpc's.
"""

import base64
import os
import statistics
import sys
import time
import xmlrpc.client
from urllib.parse import urlsplit

import psutil
import requests

URL = os.environ.get("ACC_URL") or os.environ.get("REST_API_URL", "http://127.0.0.1:8069")
DB = os.environ.get("ACC_DB") or os.environ.get("REST_API_DB", "rest_api_demo")
PASSWORD = os.environ.get("ACC_ADMIN_PASSWORD") or os.environ.get("REST_API_ADMIN_PASSWORD", "admin")
SIZE = int(float(os.environ.get("BENCH_FILES_MB", "5")) * 2**20)
ROUNDS = int(os.environ.get("BENCH_FILES_ROUNDS", "15"))
MIB = 2**20


def rpc():
    uid = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/common").authenticate(DB, "admin", PASSWORD, {})
    if not uid:
        sys.exit(f"bench_files: cannot log in as admin on {URL} ({DB})")
    proxy = xmlrpc.client.ServerProxy(f"{URL}/xmlrpc/2/object", allow_none=True)

    def call(model, method, *args, **kwargs):
        return proxy.execute_kw(DB, uid, PASSWORD, model, method, list(args), kwargs)

    return uid, call


def http_workers():
    """The prefork HTTP workers of the server on URL's port."""
    port = urlsplit(URL).port
    pids = [c.pid for c in psutil.net_connections(kind="tcp") if c.pid and c.laddr.port == port]
    if not pids:
        sys.exit(f"bench_files: no process listens on port {port}")
    process = psutil.Process(pids[0])
    parent = process.parent()
    master = parent if parent is not None and "odoo-bin" in " ".join(parent.cmdline()) else process
    workers = [p for p in master.children() if "gevent" not in p.cmdline()] or [master]
    return workers


def peak_kib(process):
    with open(f"/proc/{process.pid}/status") as handle:
        return int(next(line for line in handle if line.startswith("VmHWM:")).split()[1])


def reset_peak(process):
    try:
        with open(f"/proc/{process.pid}/clear_refs", "w") as handle:
            handle.write("5")
    except OSError as exc:
        sys.exit(f"bench_files: cannot reset the peak memory of {process.pid} ({exc}): run as root")


def measured(workers, fetch):
    """(seconds, peak MiB above the RSS before the call, of the busiest worker) of one download."""
    before = {}
    for worker in workers:
        reset_peak(worker)
        before[worker.pid] = worker.memory_info().rss
    started = time.perf_counter()
    data = fetch()
    elapsed = time.perf_counter() - started
    growth = max(peak_kib(w) * 1024 - before[w.pid] for w in workers)
    return elapsed, growth / MIB, data


def main():
    uid, call = rpc()
    payload = os.urandom(SIZE)
    att = call(
        "ir.attachment", "create", {"name": "bench-files.bin", "datas": base64.b64encode(payload).decode()}
    )
    key = call("rest.api.key", "generate", {"name": "bench files", "user_id": uid, "all_models": True,
                                            "rate_limit": 0})["key"]  # fmt: skip
    session = requests.Session()

    def rest():
        response = session.get(
            f"{URL}/api/ir.attachment/{att}/binary/datas", headers={"api-key": key}, timeout=120
        )
        response.raise_for_status()
        return response.content

    def jsonrpc():
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
            "service": "object", "method": "execute_kw",
            "args": [DB, uid, PASSWORD, "ir.attachment", "read", [[att]], {"fields": ["datas"]}]}}  # fmt: skip
        response = session.post(f"{URL}/jsonrpc", json=body, timeout=120)
        response.raise_for_status()
        return base64.b64decode(response.json()["result"][0]["datas"])

    try:
        workers = http_workers()
        results = {}
        for name, fetch in (("rest", rest), ("jsonrpc", jsonrpc)):
            for _ in range(3):  # warm up: caches, connections
                fetch()
            times, peaks = [], []
            for _ in range(ROUNDS):
                elapsed, peak, data = measured(workers, fetch)
                if data != payload:
                    sys.exit(f"bench_files: {name} returned other bytes")
                times.append(elapsed)
                peaks.append(peak)
            results[name] = (statistics.median(times), max(peaks))
            print(f"{name:8s} {SIZE / MIB:.0f} MB download: median {results[name][0] * 1000:7.1f} ms, "
                  f"worker peak +{results[name][1]:6.1f} MiB (max over {ROUNDS} calls)", flush=True)  # fmt: skip
    finally:
        call("ir.attachment", "unlink", [att])
    speed = results["jsonrpc"][0] / results["rest"][0]
    memory = results["rest"][1] / max(results["jsonrpc"][1], 0.1)
    print(f"files_speedup_rest_vs_jsonrpc={speed:.2f}x  files_memory_rest_vs_jsonrpc={memory:.2f}")
    if speed < 2 or memory > 0.5:
        sys.exit("bench_files: the route is not 2x faster, or not at most half the memory")


if __name__ == "__main__":
    main()
