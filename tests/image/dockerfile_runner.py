"""Carry out a generated Dockerfile's steps here, without Docker, to check what they produce.

Only the instructions uv-lambda writes are understood: FROM, ENV, WORKDIR, RUN with
bind/cache/uv mounts, COPY, CMD. The builder runs in a folder standing for the base image's /var/task
(its WORKDIR); bind mounts are copied in for the RUN and removed after, as BuildKit does.
The real uv runs every command. The result is the final image's /var/task and its CMD.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from uv_lambda import proc


@dataclass(frozen=True)
class Built:
    task_root: Path
    handler: str


def _instructions(text: str) -> list[str]:
    joined: list[str] = []
    current = ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    return joined


def run_dockerfile(dockerfile: Path, context: Path, task_root: Path, uv: Path, python: Path) -> Built:
    task_root.mkdir(parents=True)
    env = {"LAMBDA_TASK_ROOT": str(task_root), "UV_PYTHON": str(python)}
    bin_dir = task_root.parent / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").symlink_to(uv)
    handler = ""
    workdir = task_root  # the Lambda base image's WORKDIR
    for instruction in _instructions(dockerfile.read_text()):
        word, _, rest = instruction.partition(" ")
        rest = rest.replace("${LAMBDA_TASK_ROOT}", str(task_root))
        if word == "ENV":
            key, _, value = rest.partition("=")
            env[key] = value
        elif word == "WORKDIR":
            workdir = task_root.parent / "filesystem" / rest.strip().lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif word == "RUN":
            _run(rest, context, workdir, env, bin_dir)
        elif word == "COPY":
            source, target = shlex.split(rest)[-2:]
            if "--from=builder" in rest:
                continue  # the builder's /var/task is the folder we have been filling
            origin, destination = context / source, Path(target)
            if origin.is_dir():
                shutil.copytree(origin, destination, dirs_exist_ok=True)
            else:
                shutil.copy(origin, destination)
        elif word == "CMD":
            handler = json.loads(rest)[0]
        elif word != "FROM":
            raise AssertionError(f"unexpected instruction {instruction!r}")
    return Built(task_root, handler)


def _run(rest: str, context: Path, workdir: Path, env: dict[str, str], bin_dir: Path) -> None:
    words = shlex.split(rest, posix=True)
    mounted: list[Path] = []
    command_words: list[str] = []
    for word in words:
        if word.startswith("--mount="):
            options = dict(part.split("=", 1) for part in word.removeprefix("--mount=").split(","))
            if options.get("type") == "bind":
                source, target = context / options["source"], workdir / options["target"]
                if source.is_dir():
                    shutil.copytree(source, target)
                else:
                    shutil.copy(source, target)
                mounted.append(target)
            continue  # the uv binary is on PATH; the cache mount is uv's own cache here
        command_words.append(word)
    command = " ".join(shlex.quote(w) if w not in ("&&",) else w for w in command_words)
    try:
        proc.run(
            ["bash", "-c", command],
            cwd=workdir,
            extra_env={**env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
            what="a RUN step",
        )
    finally:
        for path in mounted:  # bind mounts leave nothing behind in the layer
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
