"""Deploy benchmark against moto: call counts per scenario, no-op time vs its bare reads.

    python bench/deploy_bench.py [--runs 21]

Starts `moto_server` on 127.0.0.1 with a recording proxy in front of it (the one the deploy
tests use), builds a copy of examples/fastapi-hello (format split) with the real build, and
deploys it through the library (connect -> plan -> execute; build time excluded):

  first       first deploy: role, layer, function
  no-op       nothing changed (median of --runs), and its call counts
  baseline    the read-only calls a no-op deploy needs, made directly with boto3 from a
              fresh session: get_function, get_role, list_attached_role_policies,
              list_layer_versions (median of --runs)
  code-only   after editing app/main.py
  dependency  after adding a dependency (`six`; needs PyPI for `uv lock`)

and prints no-op / baseline as medians and as minimums (the least disturbed runs on a shared
machine; target < 1.5), each scenario's read and write calls and bytes uploaded, the no-op
runs' write calls (target 0), and the first deploy's calls in order.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "deploy"))  # the recording proxy of the deploy tests

from deploy_helpers import RecordingProxy  # noqa: E402

from uv_lambda import proc  # noqa: E402
from uv_lambda.bundle.pipeline import build_function  # noqa: E402
from uv_lambda.config import with_overrides  # noqa: E402
from uv_lambda.deploy.aws import connect  # noqa: E402
from uv_lambda.deploy.desired import DeployOptions, desired_function  # noqa: E402
from uv_lambda.deploy.executor import execute  # noqa: E402
from uv_lambda.deploy.models import AppliedPlan, DesiredFunction  # noqa: E402
from uv_lambda.deploy.planner import plan_deploy  # noqa: E402
from uv_lambda.project import load_project  # noqa: E402
from uv_lambda.ui import Reporter  # noqa: E402

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(port: int, log: Path) -> subprocess.Popen[bytes]:
    server = Path(sys.executable).with_name("moto_server")
    with log.open("wb") as handle:
        process = proc.spawn(
            [str(server), "-H", "127.0.0.1", "-p", str(port)],
            extra_env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
            stdout=handle.fileno(),
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("moto_server did not start")


def deploy(desired: DesiredFunction, endpoint: str) -> float:
    return deploy_outcome(desired, endpoint)[0]


def deploy_outcome(desired: DesiredFunction, endpoint: str) -> tuple[float, AppliedPlan]:
    started = time.perf_counter()
    aws = connect(region=REGION, profile=None, endpoint_url=endpoint)
    plan = plan_deploy(desired, aws)
    outcome = execute(plan, aws, Reporter(quiet=True))
    return time.perf_counter() - started, outcome


def bare_reads(endpoint: str, desired: DesiredFunction) -> float:
    """The reads a no-op deploy needs, straight through boto3 from a fresh session."""
    import boto3
    from botocore.config import Config

    started = time.perf_counter()
    session = boto3.session.Session(region_name=REGION)
    config = Config(retries={"total_max_attempts": 1})
    lam = session.client("lambda", endpoint_url=endpoint, config=config)
    iam = session.client("iam", endpoint_url=endpoint, config=config)
    lam.get_function(FunctionName=desired.name)
    iam.get_role(RoleName=desired.role_name)
    iam.list_attached_role_policies(RoleName=desired.role_name)
    lam.list_layer_versions(LayerName=desired.layer_name)
    return time.perf_counter() - started


def interleaved(runs: int, first: Callable[[], float], second: Callable[[], float]) -> tuple[list[float], list[float]]:
    """Alternate the two measurements so that load changes on the machine hit both alike."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        a.append(first())
        b.append(second())
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)
    os.environ.pop("AWS_PROFILE", None)

    work = Path(tempfile.mkdtemp(prefix="deploy-bench-"))
    port = free_port()
    moto = start_moto(port, work / "moto.log")
    proxy = RecordingProxy(port)
    proxy.start()
    try:
        project_dir = work / "fastapi-hello"
        shutil.copytree(REPO / "examples" / "fastapi-hello", project_dir, ignore=shutil.ignore_patterns("dist"))
        quiet = Reporter(quiet=True)

        def build(lock: bool = False) -> DesiredFunction:
            project = load_project(project_dir)
            [config] = project.functions().values()
            config = with_overrides(config, format="split")
            built = build_function(project, config, reporter=quiet, lock=lock)
            return desired_function(config, built, DeployOptions(environment={}))

        rows: list[tuple[str, str, int, int, int, list[str]]] = []
        sequences: dict[str, list[str]] = {}

        def scenario(name: str, desired: DesiredFunction) -> None:
            proxy.reset()
            seconds, outcome = deploy_outcome(desired, proxy.url)
            writes = proxy.writes()
            reads = len(proxy.operations()) - len(writes)
            rows.append((name, f"{seconds:.3f} s", reads, len(writes), outcome.bytes_uploaded, writes))
            sequences[name] = proxy.operations()

        desired = build()
        scenario("first deploy", desired)
        scenario("no-op", desired)

        # Warm both paths once (imports, moto's lazily loaded backends), then measure.
        deploy(desired, proxy.url)
        bare_reads(proxy.url, desired)
        proxy.reset()
        noop_samples, base_samples = interleaved(
            args.runs, lambda: deploy(desired, proxy.url), lambda: bare_reads(proxy.url, desired)
        )
        noop_writes = proxy.writes()  # of every no-op run (the bare reads write nothing)
        noop, base = statistics.median(noop_samples), statistics.median(base_samples)

        main_py = project_dir / "app" / "main.py"
        main_py.write_text(main_py.read_text().replace("Hello, world!", "Hello, bench!"))
        scenario("code-only", build())

        pyproject = project_dir / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('    "mangum",\n', '    "mangum",\n    "six",\n'))
        scenario("dependency change", build(lock=True))
    finally:
        proxy.stop()
        moto.terminate()
        moto.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    print(f"runs: {args.runs}; app: examples/fastapi-hello (format split); moto behind a recording proxy")
    print(f"no-op deploy     median {noop:.3f} s  min {min(noop_samples):.3f} s")
    print(f"bare reads       median {base:.3f} s  min {min(base_samples):.3f} s")
    best = min(noop_samples) / min(base_samples)
    print(f"ratio no-op / bare reads: median {noop / base:.2f}, min {best:.2f}  (target <= 1.5)")
    print(f"write calls in {args.runs} no-op deploys: {len(noop_writes)}  (target 0) {', '.join(noop_writes)}")
    print()
    print(f"{'scenario':<18} {'wall':>9} {'reads':>6} {'writes':>7} {'uploaded':>11}  write calls")
    for name, wall, reads, writes, uploaded, calls in rows:
        print(f"{name:<18} {wall:>9} {reads:>6} {writes:>7} {uploaded:>11,}  {', '.join(calls) or '-'}")
    print()
    print("first deploy, every call in order: " + ", ".join(sequences["first deploy"]))


if __name__ == "__main__":
    main()
