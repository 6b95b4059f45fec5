"""Artifacts through the API against boto3 straight to the same S3, and the controller's memory.

Starts SeaweedFS (tests/artifacts/s3_server.py, the stack's own component) on free ports, and
the controller (``vigil serve``, SQLite) as a subprocess keeping its artifacts there. Then, for
a 64 MiB file, alternating ``--rounds`` times:

- boto3 ``upload_file`` / ``download_file`` straight to the bucket (its defaults: multipart
  above 8 MiB, 10 threads);
- ``POST /runs/{id}/artifacts`` (multipart/form-data streamed from disk by httpx) and
  ``GET /artifacts/{id}/content``, streamed through the controller
  (``VIGIL_ARTIFACTS_PROXY_DOWNLOADS=true``) and, by default, as a 307 to a presigned URL.

Prints the medians in MiB/s and the ratios (target: >= 0.8 x boto3 both ways), then uploads a
256 MiB file while sampling the controller's RSS every 10 ms (target: it grows < 32 MiB), and
the machine's load average before and after (the machine is shared: say how busy it was).

Usage: python benchmarks/artifacts_throughput.py [--rounds 5] [--size-mib 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx
import psutil
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.artifacts.s3_server import S3Server, seaweedfs  # noqa: E402 - after the path set-up
from tests.controller_process import ControllerProcess  # noqa: E402
from tests.ports import free_port  # noqa: E402

MiB = 1024 * 1024
TARGET_RATIO = 0.8
TARGET_RSS_GROWTH_MIB = 32


def start_controller(server: S3Server, work: Path, *, proxy: bool) -> ControllerProcess:
    """A controller on the shared SQLite store with artifacts in ``server``, proxying
    downloads or redirecting them to presigned URLs; started and ready."""
    controller = ControllerProcess(
        f"sqlite:///{work}/vigil.db",  # one store, both controllers
        work / f"controller-{proxy}",
        free_port(),
        settings={
            "VIGIL_ARTIFACTS_BACKEND": "s3",
            "VIGIL_ARTIFACTS_S3_ENDPOINT_URL": server.endpoint_url,
            "VIGIL_ARTIFACTS_S3_BUCKET": server.bucket,
            "VIGIL_ARTIFACTS_S3_ACCESS_KEY_ID": server.access_key_id,
            "VIGIL_ARTIFACTS_S3_SECRET_ACCESS_KEY": server.secret_access_key,
            "VIGIL_ARTIFACTS_PROXY_DOWNLOADS": "true" if proxy else "false",
        },
        probe="/health/ready",
        keep_output=False,
    )
    controller.start()
    return controller


def timed(action: Callable[..., object], *args: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = action(*args)
    return time.perf_counter() - started, result


def api_upload(client: httpx.Client, run_id: str, path: Path) -> dict[str, object]:
    with path.open("rb") as source:
        response = client.post(
            f"/runs/{run_id}/artifacts",
            files={"file": (path.name, source, "application/octet-stream")},
            data={"kind": "bench"},
        )
    response.raise_for_status()
    return dict(response.json())


def api_download(client: httpx.Client, url: str, size: int, target: Path) -> None:
    """To a file, as boto3's download_file does."""
    received = 0
    with client.stream("GET", url, follow_redirects=True) as response, target.open("wb") as out:
        response.raise_for_status()
        for chunk in response.iter_raw(MiB):
            out.write(chunk)
            received += len(chunk)
    if received != size:
        sys.exit(f"downloaded {received} bytes, not {size}")


def rss_growth(proc: psutil.Process, action: Callable[[], object]) -> tuple[float, float]:
    """(baseline MiB, peak growth MiB) of ``proc``'s RSS while ``action`` runs."""
    baseline = proc.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        action()
    finally:
        done.set()
        sampler.join()
    return baseline / MiB, (peak - baseline) / MiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--rss-mib", type=int, default=256)
    args = parser.parse_args()
    load_before = os.getloadavg()
    psutil.cpu_percent()
    with (
        tempfile.TemporaryDirectory(prefix="vigil-bench-artifacts-") as tmp,
        seaweedfs(bucket="vigil-bench") as server,
    ):
        work = Path(tmp)
        size = args.size_mib * MiB
        source = work / "payload.bin"
        source.write_bytes(os.urandom(size))
        s3 = boto3.client(
            "s3",
            endpoint_url=server.endpoint_url,
            aws_access_key_id=server.access_key_id,
            aws_secret_access_key=server.secret_access_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        proxied = start_controller(server, work, proxy=True)
        redirecting: ControllerProcess | None = None
        results: dict[str, list[float]] = {
            k: [] for k in ("boto3 up", "boto3 down", "api up", "api down", "api 307 down")
        }
        try:
            redirecting = start_controller(server, work, proxy=False)
            with (
                httpx.Client(base_url=proxied.url, headers=proxied.headers, timeout=300) as client,
                httpx.Client(
                    base_url=redirecting.url, headers=redirecting.headers, timeout=300
                ) as redirect_client,
            ):
                run_id = client.post(
                    "/runs", json={"name": "bench", "agent": "bench", "project_id": "bench"}
                ).json()["id"]
                api_upload(client, run_id, source)  # warm-up: imports, connections
                target = str(work / "direct.bin")
                for round_ in range(args.rounds):
                    key = f"direct/{round_}.bin"
                    up, _ = timed(s3.upload_file, str(source), server.bucket, key)
                    down, _ = timed(s3.download_file, server.bucket, key, target)
                    api_up, record = timed(api_upload, client, run_id, source)
                    url = str(record["content_url"])  # type: ignore[index]
                    api_down, _ = timed(api_download, client, url, size, work / "api.bin")
                    redirected, _ = timed(
                        api_download, redirect_client, url, size, work / "api.bin"
                    )
                    for name, seconds in zip(
                        results, (up, down, api_up, api_down, redirected), strict=True
                    ):
                        results[name].append(seconds)
                rates = {k: args.size_mib / statistics.median(v) for k, v in results.items()}
                print(f"{args.size_mib} MiB file, median of {args.rounds} alternated rounds:")
                for name, rate in rates.items():
                    print(f"  {name:14} {rate:8.1f} MiB/s")
                up_ratio = rates["api up"] / rates["boto3 up"]
                down_ratio = rates["api down"] / rates["boto3 down"]
                redirect_ratio = rates["api 307 down"] / rates["boto3 down"]
                print(f"upload through the API / boto3:        {up_ratio:.2f} (>= {TARGET_RATIO})")
                print(
                    f"download streamed by the API / boto3:  {down_ratio:.2f} (>= {TARGET_RATIO})"
                )
                print(f"download by a 307 to S3 / boto3:       {redirect_ratio:.2f}")

                big = work / "big.bin"
                with big.open("wb") as out:
                    for _ in range(args.rss_mib):
                        out.write(os.urandom(MiB))
                baseline, growth = rss_growth(
                    psutil.Process(proxied.pid), lambda: api_upload(client, run_id, big)
                )
                print(
                    f"controller RSS while taking a {args.rss_mib} MiB upload: baseline "
                    f"{baseline:.0f} MiB, grew {growth:.1f} MiB (target < {TARGET_RSS_GROWTH_MIB})"
                )
        finally:
            for controller in (proxied, redirecting):
                if controller is not None:
                    controller.stop()
    load_after = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average before {load_before[0]:.2f} "
        f"(5 min {load_before[1]:.2f}), after {load_after[0]:.2f} (5 min {load_after[1]:.2f}), "
        f"CPU busy during the run {psutil.cpu_percent():.0f}%"
    )
    ok = up_ratio >= TARGET_RATIO and down_ratio >= TARGET_RATIO and growth < TARGET_RSS_GROWTH_MIB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
