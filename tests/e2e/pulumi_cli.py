"""The real Pulumi CLI (`.e2e/bin/pulumi`) on a copy of this project, with a local file backend.

The copy holds `Pulumi.yaml`, `__main__.py` and `requirements.txt`, with `components/` and `venv/` linked to
this checkout, so the CLI runs exactly this program in the project's venv while its stack files and state
stay in the test's work directory (`use_program` runs another release's program on the same stack instead).
Plugins come from the pinned plugin cache `scripts/e2e-tools` fills (`.e2e/pulumi-home/plugins`); automatic
plugin downloads are off, so a missing plugin fails at once.
Every run's command line, output and exit code go to a log file of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.controlplane import BIN, E2E_DIR, ROOT
from tests.e2e.procs import end_session

PASSPHRASE = "e2e-passphrase-7c1f"
PULUMI_TOOLS = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python")


@dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float
    log: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def check(self) -> Run:
        if self.code != 0:
            raise AssertionError(
                f"pulumi {' '.join(self.args)} exited {self.code} (log {self.log}):\n{self.output[-6000:]}"
            )
        return self


@dataclass
class PulumiProject:
    workdir: Path
    kubeconfig: Path
    stack: str = "e2e"
    runs: list[Run] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dir = self.workdir / "project"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.use_program(ROOT)
        venv = self.dir / "venv"
        if not venv.exists():
            venv.symlink_to(ROOT / "venv")
        self.state = self.workdir / "state"
        self.state.mkdir(exist_ok=True)
        self.home = self.workdir / "pulumi-home"
        self.home.mkdir(exist_ok=True)
        plugins = self.home / "plugins"
        if not plugins.exists():
            plugins.symlink_to(Path(os.environ.get("E2E_PLUGINS", E2E_DIR / "pulumi-home" / "plugins")))

    def use_program(self, source: Path) -> None:
        """Run the program in `source` (this checkout, or a release exported from git) from the next run on:
        its project files copied, its `components/` linked; the stack, its state and the venv stay."""
        for name in ("Pulumi.yaml", "__main__.py", "requirements.txt"):
            shutil.copy(source / name, self.dir / name)
        link = self.dir / "components"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(source / "components")

    # -- environment -----------------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        path = os.pathsep.join([str(BIN), str(ROOT / "venv" / "bin"), "/usr/local/bin", "/usr/bin", "/bin"])
        env = {
            "PATH": path,
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "KUBECONFIG": str(self.kubeconfig),
        }
        env.update(extra)
        return env

    # -- running the CLI -------------------------------------------------------------------------------
    def pulumi(self, *args: str, timeout: float = 600, env: dict[str, str] | None = None, stdin: str = "") -> Run:
        argv = [str(BIN / "pulumi"), *args, "--non-interactive"]
        t0 = time.monotonic()
        cli = subprocess.Popen(
            argv,
            cwd=self.dir,
            env=env or self.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = cli.communicate(stdin, timeout=timeout)
        finally:  # also on a timeout: the CLI and every plugin it started, by pid
            end_session(cli.pid)
            cli.wait()
        done = subprocess.CompletedProcess(argv, cli.returncode, stdout, stderr)
        log = self.workdir / "logs" / f"pulumi-{len(self.runs):02d}-{args[0]}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        record = f"$ pulumi {' '.join(args)}\n--- exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n"
        log.write_text(record + done.stderr)
        run = Run(list(args), done.returncode, done.stdout, done.stderr, time.monotonic() - t0, log)
        self.runs.append(run)
        return run

    def start(self, *args: str) -> subprocess.Popen[str]:
        """`pulumi ARGS` in the background (its own process group), stdout and stderr merged, line by line."""
        return subprocess.Popen(
            [str(BIN / "pulumi"), *args, "--non-interactive"],
            cwd=self.dir,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )

    def init(self, config: dict[str, str], secrets: dict[str, str] | None = None) -> None:
        self.pulumi("stack", "init", self.stack).check()
        for key, value in config.items():
            self.pulumi("config", "set", "--path", key, value).check()
        for key, value in (secrets or {}).items():
            self.pulumi("config", "set", "--secret", key, value).check()

    def set(self, key: str, value: str) -> None:
        self.pulumi("config", "set", key, value).check()

    def up(self, *args: str, timeout: float = 900) -> Run:
        return self.pulumi("up", "--yes", "--skip-preview", *args, timeout=timeout)

    def preview(self, *args: str) -> Run:
        return self.pulumi("preview", *args)

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--json"] + (["--show-secrets"] if show_secrets else [])
        return dict(json.loads(self.pulumi(*args).check().stdout))

    def export(self) -> str:
        return self.pulumi("stack", "export").check().stdout

    def everything_printed(self) -> str:
        return "\n".join(r.output for r in self.runs)

    def operator(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """`venv/bin/python -m components ARGS` (the operator command line) on this project, with the toolchain's
        CLI on PATH."""
        return subprocess.run(
            [str(ROOT / "venv" / "bin" / "python"), "-m", "components", *args, "--project-dir", str(self.dir)],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def interrupt_when(proc: subprocess.Popen[str], marker: str, sig: int, group: bool, after: float = 0.0) -> list[str]:
    """Read the CLI's output; `after` seconds past the first line containing `marker` (the statement it announces
    is sent by then), send `sig` (to the CLI alone, or to its process group as a terminal's Ctrl-C does).
    Returns every line, until the CLI has exited."""
    lines: list[str] = []
    sent = threading.Event()

    def send() -> None:
        sent.set()
        if group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)

    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if marker in line and not sent.is_set():
            timer = threading.Timer(after, send)
            timer.start()
            sent.set()
    proc.wait(timeout=300)
    end_session(proc.pid)  # what it left (after a SIGKILL, its plugins: each in a process group of its own)
    assert sent.is_set(), f"never saw {marker!r}:\n{''.join(lines)}"
    return lines
