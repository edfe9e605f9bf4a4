"""proc.spawn_piped: a process with its three standard streams piped, without subprocess."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from uv_lambda import proc

ENV = {"PATH": os.environ["PATH"]}


def test_stdin_reaches_it_and_both_outputs_come_back_whole() -> None:
    """More than a pipe's buffer on each stream, written in turns: had stderr been a second
    pipe read after stdout, the child would have blocked on it while this process waited."""
    script = (
        "import sys\n"
        "data = sys.stdin.buffer.read()\n"
        "for _ in range(64):\n"
        "    sys.stdout.buffer.write(data); sys.stdout.flush()\n"
        "    sys.stderr.buffer.write(data[::-1]); sys.stderr.flush()\n"
        "sys.exit(3)\n"
    )
    process = proc.spawn_piped([sys.executable, "-c", script], env=ENV)
    assert process.stdin is not None
    process.stdin.write(b"0123456789" * 400)
    out, err = process.communicate()
    assert process.returncode == 3
    assert out == b"0123456789" * 400 * 64
    assert err == b"9876543210" * 400 * 64


def test_passed_descriptors_reach_it_and_no_others() -> None:
    read_end, write_end = os.pipe()
    other_read, other_write = os.pipe()
    try:
        script = (
            "import os, sys\n"
            "os.write(int(sys.argv[1]), b'through')\n"
            "try:\n"
            "    os.fstat(int(sys.argv[2]))\n"
            "    print('leaked')\n"
            "except OSError:\n"
            "    print('closed')\n"
        )
        process = proc.spawn_piped(
            [sys.executable, "-c", script, str(write_end), str(other_write)], env=ENV, pass_fds=(write_end,)
        )
        out, _ = process.communicate()
        assert out.decode().strip() == "closed"
        assert os.read(read_end, 100) == b"through"
        assert not os.get_inheritable(write_end)  # as it was before
    finally:
        for descriptor in (read_end, write_end, other_read, other_write):
            os.close(descriptor)


def test_signals_this_process_ignores_are_default_in_it() -> None:
    """Python ignores SIGPIPE; a child that inherited that would not die writing to a closed
    pipe. cat reports the mask it was started with (a Python child would set its own)."""
    assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
    process = proc.spawn_piped(["/bin/cat", "/proc/self/status"], env=ENV)
    out, _ = process.communicate()
    ignored = next(line for line in out.decode().splitlines() if line.startswith("SigIgn:"))
    assert not int(ignored.split()[1], 16) & (1 << (signal.SIGPIPE - 1))
    assert not int(ignored.split()[1], 16) & (1 << (signal.SIGXFSZ - 1))


def test_a_new_session_and_a_missing_program() -> None:
    process = proc.spawn_piped(
        [sys.executable, "-c", "import os; print(os.getsid(0) == os.getpid())"], env=ENV, new_session=True
    )
    out, _ = process.communicate()
    assert out.strip() == b"True"
    with pytest.raises(FileNotFoundError):
        proc.spawn_piped(["/nonexistent/python3", "-c", "pass"], env=ENV)


def test_debug_command_lines_quote_arguments_and_abbreviate_inline_programs() -> None:
    from uv_lambda.proc import _joined

    assert _joined(["uv", "build", "/tmp/my project"]) == "uv build '/tmp/my project'"
    assert _joined(["python", "-c", "import sys\nprint(1)\n", "4"]) == "python -c <3-line program> 4"
