"""The built wheel of labkit-qimad: namespace layout, and a clean environment with torch but no labkit-core."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import sysconfig
import zipfile

import pytest

PKG = pathlib.Path(__file__).resolve().parents[2] / "packages" / "qimad"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("hatchling")  # built offline, without build isolation
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(PKG),
                    "-w", str(out)], check=True)
    (whl,) = out.glob("labkit_qimad-*.whl")
    return whl


def test_wheel_is_a_namespace_distribution_depending_on_torch_only(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith("dist-info/METADATA"))).decode()
        entry = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "labkit/__init__.py" not in names
    assert "labkit/qimad/__init__.py" in names and "labkit/qimad/py.typed" in names
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert len(requires) == 1 and requires[0].startswith("Requires-Dist: torch")
    assert "qimad = labkit.qimad.plugin" in entry


@pytest.mark.slow
def test_clean_venv_with_only_torch_imports_and_steps(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel)],
                   check=True)
    torch_dir = pathlib.Path(__import__("torch").__file__).parents[1]
    # expose torch (a plain package) but not the shared venv's editable labkit-core (its .pth is not run)
    (pathlib.Path(site) / "torch_only.pth").write_text(f"{torch_dir}\n")
    code = (
        "import importlib.util, sys, torch, labkit\n"
        "assert getattr(labkit, '__file__', None) is None, 'labkit must be a namespace package'\n"
        "assert importlib.util.find_spec('labkit.core') is None, 'labkit-core leaked into the clean env'\n"
        "from labkit.qimad import QIMADTorch\n"
        "m = torch.nn.Linear(3, 1); x = torch.randn(8, 3)\n"
        "opt = QIMADTorch(m.parameters(), num_agents=3, seed=0)\n"
        "def c():\n"
        "    opt.zero_grad(); l = (m(x) ** 2).mean(); l.backward(); return l\n"
        "print(float(opt.step(c)))\n"
        "assert 'labkit.core' not in sys.modules\n"
    )
    res = subprocess.run([py, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert sysconfig.get_paths()["purelib"] != site
