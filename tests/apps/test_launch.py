"""The ParaView launchers' environment (inr_amr_apps.launch); the launched processes are tested in tests/plugin."""

from pathlib import Path

from inr_amr_apps import xdisplay
from inr_amr_apps.launch import paraview_environment
from inr_amr_core.torch_blas import torch_cpu_library


def test_torch_library_is_preloaded_first_once_and_kept_from_the_x_server(monkeypatch):
    lib = torch_cpu_library()
    assert lib is not None and Path(lib).is_file() and Path(lib).name == "libtorch_cpu.so"
    assert paraview_environment({})["LD_PRELOAD"] == lib
    env = paraview_environment({"LD_PRELOAD": f"/opt/other.so:{lib}"})
    assert env["LD_PRELOAD"] == f"{lib}:/opt/other.so"  # first, not twice, the user's own kept
    assert "OMP_WAIT_POLICY" not in env  # (the old workaround, slower once torch has its own BLAS)
    monkeypatch.setenv("LD_PRELOAD", env["LD_PRELOAD"])
    assert xdisplay._server_environment()["LD_PRELOAD"] == "/opt/other.so"
    monkeypatch.setenv("LD_PRELOAD", lib)
    assert "LD_PRELOAD" not in xdisplay._server_environment()
