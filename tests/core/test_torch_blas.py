"""inr_amr_core.torch_blas in plain Python (the ParaView processes: tests/plugin/test_plugin.py)."""

import subprocess
import sys
from pathlib import Path

import torch

from inr_amr_core.torch_blas import bind_torch_to_its_own_blas, blas_provider, torch_cpu_library


def test_finds_the_library_torch_runs_on():
    lib = Path(torch_cpu_library())
    assert lib.name == "libtorch_cpu.so" and lib.parent == Path(torch.__file__).parent / "lib"


def test_nothing_is_done_once_torch_is_imported_or_where_no_other_blas_comes_first():
    assert bind_torch_to_its_own_blas() is False  # (torch is imported: too late to matter)
    provider = blas_provider()
    assert provider is None or Path(provider).name == "libtorch_cpu.so"  # plain Python: torch's own
    # a fresh interpreter, before torch: still nothing to do (numpy's BLAS is not in the global scope)
    code = "from inr_amr_core.torch_blas import bind_torch_to_its_own_blas as b; import numpy; print(b())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
