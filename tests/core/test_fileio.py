"""Atomic writes: a writer killed mid-write leaves the old complete file (or nothing), never a partial one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from inr_amr_core.fileio import atomic_write, write_json

# The child writes 64 MB in 1 MB blocks through atomic_write, says where it is, and then waits to be killed.
_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from inr_amr_core.fileio import atomic_write

    target, started = Path(sys.argv[1]), Path(sys.argv[2])

    def write(tmp):
        with open(tmp, "wb") as f:
            for i in range(64):
                f.write(b"N" * (1 << 20))
                f.flush()
                if i == 8:
                    started.write_text(tmp)
                    time.sleep(60)  # killed here, in the middle of the file

    atomic_write(target, write)
    """
)


def _kill_mid_write(tmp_path, target):
    started = tmp_path / "started"
    child = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target), str(started)])
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert child.poll() is None, "the writer exited before it was killed"
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.05)
        partial = started.read_text()
        assert os.path.getsize(partial) >= 8 << 20  # the kill lands mid-file, with megabytes written
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    return partial


def test_sigkill_mid_write_keeps_the_old_complete_file(tmp_path):
    target = tmp_path / "mesh.htg"
    old = b"O" * 12345
    target.write_bytes(old)
    _kill_mid_write(tmp_path, target)
    assert target.read_bytes() == old


def test_sigkill_mid_write_of_a_new_file_leaves_no_target(tmp_path):
    target = tmp_path / "out" / "new.htg"
    _kill_mid_write(tmp_path, target)
    assert not target.exists()  # absent, not partial (the killed process's .part file is all that is left)


def test_a_clean_exit_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "report.json"
    write_json(target, {"a": 1})
    write_json(target, {"a": 2})  # replacing an existing file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert target.read_text().strip().endswith("}")


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "mesh.htg"
    target.write_text("old")

    def broken(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mesh.htg"]
