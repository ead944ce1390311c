"""The ParaView plugin in the real pvpython / pvbatch / paraview (and mpirun), on real checkpoints."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from helpers import DATA, INR_AMR, PLUGIN, PV_SCRIPTS, ROOT, plain_env, run

pytestmark = pytest.mark.paraview


@pytest.fixture(scope="module")
def bad_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("bad") / "broken.ckpt"
    p.write_text("this is not a checkpoint")
    return p


@pytest.fixture(scope="module")
def compiled_plugin(tmp_path_factory) -> Path:
    """Build the CMake plugin against Debian's ParaView into a fresh build folder."""
    build = tmp_path_factory.mktemp("build")
    cfg = run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release"], timeout=600)
    assert cfg.returncode == 0, cfg.stdout[-3000:] + cfg.stderr[-3000:]
    b = run(["cmake", "--build", build, "-j2"], timeout=900)
    assert b.returncode == 0, b.stdout[-3000:] + b.stderr[-3000:]
    libs = list(build.rglob("INRAMR.so"))
    assert libs, "the build produced no INRAMR.so"
    return libs[0]


def reader_checks(tool_cmd, load, plugin, env, tmp_path, hos_path, ct4d, bad_file):
    cfg = {"load": load, "plugin": str(plugin), "hos": str(hos_path), "ct4d": str(ct4d), "bad": str(bad_file)}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    proc = run([*tool_cmd, PV_SCRIPTS / "reader_checks.py", tmp_path / "cfg.json", tmp_path / "out.json"], env=env)
    assert (tmp_path / "out.json").exists(), f"pv script failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    return json.loads((tmp_path / "out.json").read_text()), proc


def check_reader_findings(out):
    assert out["reader_registered"]
    assert out["hos_class"] == "vtkHyperTreeGrid"
    assert out["hos_leaves"] == out["hos_expected_leaves"] > 1000
    assert out["hos_max_value_error"] < 1e-5
    assert {"value", "level", "kept_proportion", "pruned_error"} <= set(out["hos_arrays"])
    assert out["hos_timesteps"] == []  # hos has no time input
    assert out["hos_threshold_cells"] == out["hos_fine_leaves"] > 0
    assert out["ct_timesteps"] == pytest.approx([-1.0, -0.5, 0.0, 0.5, 1.0])
    assert out["ct_leaves_t-1"] > 64 and out["ct_leaves_t1"] > 64
    assert out["ct_mesh_changes"], "the mesh should adapt to the field at each time"
    assert out["ct_cache_hit"], "scrubbing back to a refined time step must hit the cache"
    assert out["ct_revisit_same_as_first"], "a revisited step must show the mesh and values it showed first"
    assert out["ct_param_change_refines"]
    assert out["ct_max_value_error"] < 1e-5
    assert out["slice_cells"] > 10 and out["slice_max_abs_x_offset"] < 1e-6
    assert out["slice_value_max_error"] < 1e-6
    assert out["contour_points"] > 10 and out["contour_value_spread"] < 0.25
    assert out["bad_leaves"] == 0 and "not a PyTorch checkpoint" in out["bad_error"]
    assert out["survived"]
    # the cached time step is served far faster than a refinement
    assert out["timings"]["cached_step"] < out["timings"]["second_step"]


def test_load_py_plugin_in_pvpython(tmp_path, hos_path, ct4d, bad_file):
    out, _ = reader_checks(["pvpython"], "py", PLUGIN, plain_env(), tmp_path, hos_path, ct4d, bad_file)
    check_reader_findings(out)
    print(json.dumps(out["timings"]))


def test_launcher_autoloads_plugin_in_pvbatch(tmp_path, hos_path, ct4d, bad_file):
    out, _ = reader_checks([INR_AMR, "pvbatch"], "auto", PLUGIN, None, tmp_path, hos_path, ct4d, bad_file)
    check_reader_findings(out)


def test_compiled_plugin_registers_reader(tmp_path, hos_path, compiled_plugin):
    script = tmp_path / "so.py"
    script.write_text(f"""
from paraview.simple import *
import paraview.simple as ps
print("BEFORE", "INRCheckpointReader" in globals())
LoadPlugin({str(compiled_plugin)!r}, remote=False, ns=globals())
r = INRCheckpointReader(FileName={str(hos_path)!r})
r.MaxDOFs = 2000
r.UpdatePipeline()
print("LEAVES", servermanager.Fetch(r).GetNumberOfLeaves())
""")
    proc = run(["pvpython", script], env=plain_env(site=True))
    assert "BEFORE False" in proc.stdout, proc.stderr[-3000:]
    from inr_amr_core import load_inr, refine

    expected = refine(load_inr(hos_path), max_dofs=2000).tree.n_leaves
    assert f"LEAVES {expected}" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]


def test_xml_matches_decorators(tmp_path):
    """xml/ holds exactly the proxy that the decorators of the .py plugin generate."""
    out = tmp_path / "generated.xml"
    proc = run(["pvpython", ROOT / "plugin" / "tools" / "export_xml.py", out], env=plain_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert out.read_text() == (ROOT / "xml" / "INRCheckpointReader.xml").read_text(), (
        "xml/INRCheckpointReader.xml is stale: run `inr-amr pvpython plugin/tools/export_xml.py`"
    )


def test_mpi_pieces_union_equals_serial(tmp_path, hos_path):
    """mpirun -np 2 pvbatch --mpi: each rank refines its share of root cells; together they are the serial run."""
    if not shutil.which("mpirun"):
        pytest.fail("mpirun is not installed (apt-get install openmpi-bin)")
    script = tmp_path / "mpi.py"
    script.write_text(f"""
from paraview.simple import *
r = INRCheckpointReader(FileName={str(hos_path)!r})
r.RootGrid = [2, 3, 1]
r.Strategy = "Thresholds"
r.Threshold = 0.1
r.Proportion = 0.09
r.MaxIterations = 5
r.MaxDOFs = 0
r.UpdatePipeline()
print("TOTAL_CELLS", r.GetDataInformation().GetNumberOfCells())
""")
    log = tmp_path / "ranks.log"
    env = {
        **os.environ,
        "INR_AMR_LOG": str(log),
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMPI_MCA_rmaps_base_oversubscribe": "1",
    }
    proc = run(["mpirun", "-np", "2", INR_AMR, "pvbatch", "--mpi", script], env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [l for l in log.read_text().splitlines() if "piece=" in l]
    pieces = {}
    for line in lines:
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        pieces[fields["piece"]] = fields
    assert set(pieces) == {"0/2", "1/2"}, lines
    assert all(int(p["leaves"]) > 0 for p in pieces.values()), "both ranks must do work"
    assert len({p["pid"] for p in pieces.values()}) == 2
    from inr_amr_core import load_inr, refine

    serial = refine(
        load_inr(hos_path),
        root_grid=(2, 3),
        max_iterations=5,
        max_dofs=None,
        strategy="thresholds",
        threshold=0.1,
        proportion=0.09,
    )
    assert sum(int(p["leaves"]) for p in pieces.values()) == serial.tree.n_leaves
    xor = 0
    for p in pieces.values():
        xor ^= int(p["xor"], 16)
    assert xor == int(np.bitwise_xor.reduce(serial.tree.element_ids())), "the union of leaves differs from serial"


#: the embedded 4D demo INRs
FOUR_D = (
    "ct_compression.pt",
    "logpile.pt",
    "lattice_compression.pt",
    "truss_compression.pt",
    "small_truss_compression.pt",
)


def test_embedded_checkpoints_open_in_the_reader(tmp_path):
    """The embedded demo INRs through the ParaView reader: leaves and values against direct evaluation."""
    data = DATA
    script = tmp_path / "embedded.py"
    script.write_text(f"""
import json, sys
import numpy as np
sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from helpers import leaf_records
from paraview import servermanager as sm
from paraview.simple import *
from inr_amr_core import load_inr
out = {{}}
for name in ("sin_corner_2d.pt",) + {FOUR_D!r}:
    path = {str(data)!r} + "/" + name
    r = INRCheckpointReader(FileName=path, Method="Uniform", UniformRefinements=2, MaxIterations=0,
                            Strategy="Thresholds")
    r.UpdatePipeline(0.5)
    h = sm.Fetch(r)
    rec = leaf_records(h)
    c = np.c_[(rec[:, 0] + rec[:, 1]) / 2, (rec[:, 2] + rec[:, 3]) / 2, (rec[:, 4] + rec[:, 5]) / 2]
    inr = load_inr(path)
    x = c[:, :2] if inr.n_inputs == 2 else np.c_[np.full(len(c), 0.5), c[:, 2], c[:, 1], c[:, 0]]
    out[name] = {{"leaves": h.GetNumberOfLeaves(), "err": float(np.abs(rec[:, 6] - inr.evaluate(x)[:, 0]).max()),
                 "times": list(r.TimestepValues) if r.TimestepValues else []}}
json.dump(out, open({str(tmp_path / "out.json")!r}, "w"))
""")
    proc = run([INR_AMR, "pvpython", script])
    assert (tmp_path / "out.json").exists(), proc.stdout[-2000:] + proc.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["sin_corner_2d.pt"]["leaves"] == 16 and out["sin_corner_2d.pt"]["times"] == []
    for name in FOUR_D:
        assert out[name]["leaves"] == 64 and len(out[name]["times"]) == 11
    assert all(v["err"] < 1e-6 for v in out.values())


def test_cache_memory_bounds_the_kept_grids_and_meshes_in_pvpython(tmp_path, ct_path):
    """Cache Memory splits between the meshes (two thirds) and the grids (a third); lowering it evicts the
    least recently used at the next update, and an evicted step is shown again exactly as before."""
    script = tmp_path / "memory.py"
    script.write_text(f"""
import json
import numpy as np
from paraview import servermanager as sm
from paraview.simple import *
from vtkmodules.util.numpy_support import vtk_to_numpy
r = INRCheckpointReader(FileName={str(ct_path)!r}, MaxDOFs=80000, NumberOfTimeSteps=3, PrecomputeTimeSteps=0)
r.UpdatePipelineInformation()
algo = r.GetClientSideObject()
steps = list(r.TimestepValues)
values = {{}}
for t in steps:
    r.UpdatePipeline(t)
    values[t] = np.sort(vtk_to_numpy(sm.Fetch(r).GetCellData().GetArray("value"))).tolist()
out = {{"default": [algo._session.memory_bytes, algo._grids.memory_bytes, len(algo._grids)]}}
r.CacheMemory = 16
r.UpdatePipeline(steps[-1])
out["small"] = [algo._session.memory_bytes, algo._grids.memory_bytes, len(algo._grids), algo._grids.memory_used(),
                algo._session.memory_used()]
r.UpdatePipeline(steps[0])  # its grid was the least recently used: gone, built again
again = np.sort(vtk_to_numpy(sm.Fetch(r).GetCellData().GetArray("value"))).tolist()
out["first_again_same"] = again == values[steps[0]]
json.dump(out, open({str(tmp_path / "out.json")!r}, "w"))
""")
    env = dict(os.environ, INR_AMR_CACHE=str(tmp_path / "disk"))
    proc = run([INR_AMR, "pvpython", script], env=env)
    assert (tmp_path / "out.json").exists(), proc.stdout[-2000:] + proc.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    mib = 2**20
    assert out["default"] == [2048 * mib, 1024 * mib, 3]  # the schema's 3072 MB; every step's grid kept
    session_limit, grid_limit, grids, grid_bytes, session_bytes = out["small"]
    assert (session_limit, grid_limit) == (int(16 * mib * 2 / 3), int(16 * mib / 3))
    assert grids < 3 and (grid_bytes <= grid_limit or grids == 1)
    assert session_bytes <= session_limit
    assert out["first_again_same"]


def test_budget_resume_precompute_and_run_fields_in_pvbatch(tmp_path, ct4d):
    """Apply again with a larger Max DOFs continues the run; neighbouring steps are precomputed in the
    background; the output's field data says how the run stopped; auto time levels are sized to the
    reader's time steps (5 over [-1, 1]: slabs of 1 hold two spacings)."""
    script = tmp_path / "budget.py"
    script.write_text(f"""
import json, time
from paraview import servermanager as sm
from paraview.simple import *
r = INRCheckpointReader(FileName={str(ct4d)!r}, MaxDOFs=3000, UniformRefinements=1, NumberOfTimeSteps=5)
r.UpdatePipelineInformation()
steps = list(r.TimestepValues)
r.UpdatePipeline(steps[2])
h = sm.Fetch(r)
fd = h.GetFieldData()
summary = json.loads(fd.GetAbstractArray("inr_amr_summary").GetValue(0))
out = {{"steps": steps, "stop": fd.GetAbstractArray("stop_reason").GetValue(0), "dofs": fd.GetArray("dofs").GetValue(0),
       "leaves": fd.GetArray("leaves").GetValue(0), "htg_leaves": h.GetNumberOfLeaves(),
       "time_levels": summary["settings"]["time_levels"]}}
time.sleep(8)  # the user looks at the step; the reader refines its neighbours meanwhile
r.UpdatePropertyInformation()
before = (int(r.GetProperty("CacheHits").GetData()), int(r.GetProperty("Refinements").GetData()))
r.UpdatePipeline(steps[3])
r.UpdatePropertyInformation()
after = (int(r.GetProperty("CacheHits").GetData()), int(r.GetProperty("Refinements").GetData()))
out["neighbour"] = {{"before": before, "after": after, "leaves": sm.Fetch(r).GetNumberOfLeaves()}}
r.MaxDOFs = 6000
r.UpdatePipeline(steps[3])
out["larger"] = sm.Fetch(r).GetNumberOfLeaves()
json.dump(out, open({str(tmp_path / "out.json")!r}, "w"))
""")
    proc = run([INR_AMR, "pvbatch", script])
    assert (tmp_path / "out.json").exists(), proc.stdout[-2000:] + proc.stderr[-4000:]
    out = json.loads((tmp_path / "out.json").read_text())
    from inr_amr_core import load_inr, refine

    inr = load_inr(ct4d)
    assert out["stop"] == "max_dofs" and 0 < out["dofs"] <= 3000 and out["leaves"] == out["htg_leaves"]
    before, after = out["neighbour"]["before"], out["neighbour"]["after"]
    assert after[1] == before[1] and after[0] == before[0] + 1, out  # the neighbour came from the background
    assert out["time_levels"] == 1, out
    t3 = out["steps"][3]
    kw = dict(uniform_refinements=1, time=t3, time_levels=1)
    assert out["neighbour"]["leaves"] == refine(inr, max_dofs=3000, **kw).tree.n_leaves
    assert out["larger"] == refine(inr, max_dofs=6000, **kw).tree.n_leaves


def test_exit_while_neighbours_are_precomputed_is_clean(tmp_path, ct4d):
    """pvbatch exits right after a time step is shown, while the background refines the next ones: the
    precompute stops first (a thread left inside torch at interpreter exit aborts the process)."""
    script = tmp_path / "quit.py"
    script.write_text(f"""
from paraview.simple import *
r = INRCheckpointReader(FileName={str(ct4d)!r}, MaxDOFs=20000, UniformRefinements=1, NumberOfTimeSteps=9,
                        PrecomputeTimeSteps=4)
r.UpdatePipelineInformation()
r.UpdatePipeline(0.0)
open({str(tmp_path / "shown")!r}, "w").close()
""")
    for _ in range(3):
        proc = run([INR_AMR, "pvbatch", script])
        assert (tmp_path / "shown").exists(), proc.stderr[-3000:]
        assert proc.returncode == 0 and "Signal" not in proc.stderr, proc.stderr[-3000:]


BLAS_SCRIPT = """
import sys
if sys.argv[1] == "bare":  # Load Plugin in a ParaView started without the launcher
    from paraview.simple import LoadPlugin
    LoadPlugin(sys.argv[2], ns=globals())
import paraview.simple as ps
reader = getattr(ps, "INRCheckpointReader", None) or globals()["INRCheckpointReader"]
reader(FileName=sys.argv[-1], MaxDOFs=500).UpdatePipeline()  # the reader's own products
import torch
a = torch.rand(64, 64)
print(float((a.double() @ a.double()).sum()))
from inr_amr_core.torch_blas import blas_provider
print("global sgemm_:", blas_provider("sgemm_"))
"""


def torch_gemm_bindings(cmd, env, folder):
    """What torch's library binds ``sgemm_`` and ``dgemm_`` to, as the dynamic linker reports it."""
    env = {**(env or os.environ), "LD_DEBUG": "bindings", "LD_DEBUG_OUTPUT": str(folder / "ld")}
    proc = run(cmd, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    found = {"global": Path(proc.stdout.split("global sgemm_:", 1)[1].split()[0]).name}
    for log in folder.glob("ld.*"):
        with open(log, errors="replace") as lines:
            for line in lines:
                if "libtorch_cpu.so [0] to " in line and ("`sgemm_'" in line or "`dgemm_'" in line):
                    target = line.split(" to ", 1)[1].split(" [", 1)[0]
                    found[line.rsplit("`", 1)[1].rstrip("'\n")] = Path(target).name
    return found


def test_torch_computes_with_its_own_blas_in_launched_and_bare_paraview(tmp_path, hos_path):
    """ParaView links the system BLAS, to which torch's matrix products would bind (inr_amr_core.torch_blas):
    in a launched pvbatch (torch's library preloaded, so first for every caller) and in a bare pvpython
    that loads the plugin (the reader loads torch's library with RTLD_DEEPBIND, the rest of ParaView keeps
    the system BLAS) the dynamic linker binds them to torch's own."""
    script = tmp_path / "blas.py"
    script.write_text(BLAS_SCRIPT)
    (tmp_path / "launched").mkdir()
    (tmp_path / "bare").mkdir()
    launched = torch_gemm_bindings([INR_AMR, "pvbatch", script, "launched", hos_path], None, tmp_path / "launched")
    bare = torch_gemm_bindings(["pvpython", script, "bare", PLUGIN, hos_path], plain_env(site=True), tmp_path / "bare")
    own = {"sgemm_": "libtorch_cpu.so", "dgemm_": "libtorch_cpu.so"}
    # launched: first in the global scope (every caller's); bare: the system BLAS is, torch's calls are not
    assert launched == {**own, "global": "libtorch_cpu.so"}, launched
    assert bare == {**own, "global": "libblas.so.3"}, bare
