"""Every distribution as built and installed alone: wheel contents, then a clean venv per wheel with
only its declared dependencies, every name of its ``__all__``, and the first Python example of its README.

The wheels are built once per session; each venv is built once per session and reused by every test
of that distribution (see ``venv_factory`` for how it is filled fast).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {  # distribution -> (folder, import name)
    "labkit-core": ("core", "labkit.core"),
    "labkit-qimad": ("qimad", "labkit.qimad"),
    "labkit-zeta-gnn": ("zeta-gnn", "labkit.zeta_gnn"),
    "labkit-g2-pinn": ("g2-pinn", "labkit.g2_pinn"),
    "labkit-son-qttn": ("son-qttn", "labkit.son_qttn"),
    "labkit-nmr-fno": ("nmr-fno", "labkit.nmr_fno"),
}
GPU_EXTRAS = {"labkit-g2-pinn": ("cuda12", "cuda13"), "labkit-son-qttn": ("cuda12", "cuda13")}


def _pip(python: Path | str, *args: str) -> None:
    """``pip install`` into the environment of ``python`` with this session's pip (the venvs carry none)."""
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile",
               "--disable-pip-version-check", *args]
    proc = subprocess.run(command, capture_output=True, text=True, env=_clean_env())
    assert proc.returncode == 0, f"pip install {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(PYTHONNOUSERSITE="1", LABKIT_PROGRESS="0", MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    return env


def _metadata(wheel: Path) -> tuple[list[str], dict[str, list[str]]]:
    """(base requirements, extra -> requirements) from the wheel's METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    base: list[str] = []
    extras: dict[str, list[str]] = {}
    for req in Parser().parsestr(text).get_all("Requires-Dist") or []:
        spec, _, marker = req.partition(";")
        found = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        (extras.setdefault(found.group(1), []) if found else base).append(spec.strip())
    return base, extras


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The six wheels, built once per session (offline, without build isolation: needs hatchling)."""
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheels")
    folders = [str(ROOT / "packages" / folder) for folder, _ in FOLDERS.values()]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    *folders], check=True, capture_output=True)
    found = {}
    for dist in FOLDERS:
        (wheel,) = out.glob(dist.replace("-", "_") + "-*.whl")
        found[dist] = wheel
    return found


@pytest.fixture(scope="session")
def venv_factory(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """``make(dist)`` -> the python of a clean venv with ``dist`` and only its declared dependencies.

    The venv starts empty (no pip, no outer site-packages). Its third-party packages are exactly the
    closure of what the labkit wheels declare, markers and extras evaluated, hard-linked from this
    test environment's installed files (which ``requirements.txt`` took from the index; torch is its
    2.13.0 CPU build): no resolver, no download, no unpacking, so six venvs cost seconds. The local
    labkit wheels are then installed by pip with ``--no-deps``. Each venv is reused for the session.
    """
    root = tmp_path_factory.mktemp("venvs")
    made: dict[str, Path] = {}

    def make(dist: str) -> Path:
        if dist not in made:
            local = _labkit_closure(dist, wheels)
            requirements = [r for d in local for r in _metadata(wheels[d])[0] if not _name(r).startswith("labkit-")]
            path = root / dist
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
            python = path / "bin" / "python"
            site = Path(_run(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])", root).strip())
            for found in _installed_closure(requirements).values():
                _link_distribution(found, site)
            _pip(python, "--no-deps", *(str(wheels[d]) for d in local))
            made[dist] = python
        return made[dist]

    return make


def _installed_closure(requirements: list[str]) -> dict[str, importlib.metadata.Distribution]:
    """name -> installed distribution for ``requirements`` and, recursively, everything they require."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found: dict[str, importlib.metadata.Distribution] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in done:
            continue
        done.add(key)
        dist = importlib.metadata.distribution(req.name)
        assert req.specifier.contains(dist.version, prereleases=True), f"{req} but {dist.version} is installed"
        found[key[0]] = dist
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                todo.append(sub)
    return found


def _link_distribution(dist: importlib.metadata.Distribution, site: Path) -> None:
    """Hard-link an installed distribution's files (its RECORD) into another site-packages."""
    for file in dist.files or []:
        if file.parts[0] == "..":  # console scripts in bin/: not needed
            continue
        source = Path(str(dist.locate_file(file)))
        if not source.is_file():
            continue
        target = site / file
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system
            shutil.copy2(source, target)


def _labkit_closure(dist: str, wheels: dict[str, Path]) -> list[str]:
    todo, seen = [dist], []
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.append(d)
            todo += [_name(r) for r in _metadata(wheels[d])[0] if _name(r).startswith("labkit-")]
    return seen


def _run(python: Path, code: str, cwd: Path) -> str:
    proc = subprocess.run([str(python), "-c", code], cwd=cwd, capture_output=True, text=True, env=_clean_env(), timeout=600)
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _first_python_example(dist: str) -> str:
    readme = (ROOT / "packages" / FOLDERS[dist][0] / "README.md").read_text()
    found = re.search(r"```python\n(.*?)```", readme, re.S)
    assert found, f"{dist}: README.md has no ```python example"
    return found.group(1)


# ---------------------------------------------------------------- wheel contents

@pytest.mark.parametrize("dist", list(FOLDERS))
def test_wheel_is_a_namespace_distribution(wheels, dist):
    folder, module = FOLDERS[dist]
    with zipfile.ZipFile(wheels[dist]) as zf:
        names = zf.namelist()
        entry = "\n".join(zf.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    inner = module.replace(".", "/")
    assert "labkit/__init__.py" not in names
    assert f"{inner}/__init__.py" in names and f"{inner}/py.typed" in names
    if dist != "labkit-core":
        plugin = folder
        assert f"{plugin} = {module}.plugin" in entry, entry


def test_qimad_wheel_requires_torch_only(wheels):
    base, extras = _metadata(wheels["labkit-qimad"])
    assert [_name(r) for r in base] == ["torch"]
    assert {"cma", "labkit-core"} <= {_name(r) for r in extras["compare"]}


# ---------------------------------------------------------------- alone in a clean venv

@pytest.mark.parametrize("dist", list(FOLDERS))
def test_installed_alone_exports_and_readme_example_work(venv_factory, dist, tmp_path):
    python = venv_factory(dist)
    module = FOLDERS[dist][1]
    out = _run(python, (
        "import importlib, importlib.util, sys, types\n"
        f"pkg = importlib.import_module({module!r})\n"
        "import labkit\n"
        "assert getattr(labkit, '__file__', None) is None, 'labkit must stay a namespace package'\n"
        "outer = [p for p in sys.path if p.endswith(('site-packages', 'dist-packages')) and not p.startswith(sys.prefix)]\n"
        "assert not outer, f'site-packages outside the venv on the path: {outer}'\n"
        "for name in pkg.__all__:\n"
        "    value = getattr(pkg, name)\n"
        "    assert value is not None and not isinstance(value, types.ModuleType), name\n"
        "print(len(pkg.__all__))\n"
    ), tmp_path)
    assert int(out.split()[-1]) > 0
    _run(python, _first_python_example(dist), tmp_path)


def test_qimad_alone_has_no_numpy_no_core_and_its_state_round_trips(venv_factory, tmp_path):
    python = venv_factory("labkit-qimad")
    _run(python, (
        "import importlib.util, io, sys, torch\n"
        "assert importlib.util.find_spec('numpy') is None, 'numpy is installed'\n"
        "assert importlib.util.find_spec('labkit.core') is None, 'labkit-core is installed'\n"
        "import labkit.qimad as q\n"
        "for name in q.__all__:\n"
        "    getattr(q, name)\n"
        "assert not any(m == 'labkit.core' or m.startswith('labkit.core.') for m in sys.modules)\n"
        "m = torch.nn.Linear(3, 1); x = torch.randn(8, 3)\n"
        "opt = q.QIMADTorch(m.parameters(), num_agents=3, seed=0)\n"
        "def c():\n"
        "    opt.zero_grad(); l = (m(x) ** 2).mean(); l.backward(); return l\n"
        "opt.step(c)\n"
        "buf = io.BytesIO(); torch.save(opt.state_dict(), buf); buf.seek(0)\n"
        "other = q.QIMADTorch(torch.nn.Linear(3, 1).parameters(), num_agents=3, seed=7)\n"
        "other.load_state_dict(torch.load(buf, weights_only=True))\n"
        "a, b = opt.state_dict(), other.state_dict()\n"
        "assert all(torch.equal(a['state'][i][k], b['state'][i][k]) for i in a['state'] for k in a['state'][i])\n"
        "assert a['qimad']['rng_state'] == b['qimad']['rng_state'] and a['qimad']['step'] == b['qimad']['step'] == 1\n"
    ), tmp_path)


# ---------------------------------------------------------------- GPU extras resolve

@pytest.mark.slow
@pytest.mark.parametrize(("dist", "extra"), [(d, e) for d, extras in GPU_EXTRAS.items() for e in extras])
def test_gpu_extra_resolves(wheels, dist, extra, tmp_path):
    requirements = _metadata(wheels[dist])[1].get(extra)
    assert requirements, f"{dist} declares no [{extra}] extra"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                           "--report", str(tmp_path / "report.json"), *requirements],
                          capture_output=True, text=True, env=_clean_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    names = {item["metadata"]["name"].lower() for item in json.loads((tmp_path / "report.json").read_text())["install"]}
    expected = {"cupy-cuda12x", "cupy-cuda13x"} if dist == "labkit-g2-pinn" else {f"jax-{extra}-plugin"}
    assert names & expected, sorted(names)
