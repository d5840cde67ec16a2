"""A plain (non-editable) install carries the config tree: build a wheel, install it in a fresh
virtual environment that has no source tree, and run the commands there."""
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_wheel_installed_without_the_source_tree_has_its_configs(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("sim2real-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # the dependencies (torch, bpy, hydra, ...) from this environment, as plain paths: their .pth
    # files (an editable install's finder among them) are not processed there
    deps = [p for p in sys.path if p.endswith("site-packages")] or [sysconfig.get_paths()["purelib"]]
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"WANDB_MODE": "disabled"}
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
                   check=True, env=env, cwd=tmp_path)

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import sim2real.app as a, pipeline; print(a.CONF_DIR); print(pipeline.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert where.returncode == 0, where.stderr[-2000:]
    where = where.stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the installed copy, not the source tree
    assert (Path(where[0]) / "experiment" / "real_lmo.yaml").is_file()

    helped = subprocess.run([str(venv / "bin" / "sim2real"), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert helped.returncode == 0 and "sim2real" in helped.stdout and "experiment" in helped.stdout, helped.stderr[-2000:]
    job = subprocess.run([str(venv / "bin" / "sim2real-render"), "--cfg", "job"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert job.returncode == 0 and "scene:" in job.stdout and "primitives" in job.stdout, job.stderr[-2000:]
