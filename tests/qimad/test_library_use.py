"""QIMAD as a plain torch library: no numpy needed, and torch's lr schedulers drive ``eta``."""

from __future__ import annotations

import subprocess
import sys

import torch

from labkit.qimad import QIMADTorch


def test_state_dict_round_trip_without_numpy():
    code = (
        "import sys; sys.modules['numpy'] = None  # as in a venv with torch only: torch does not require numpy\n"
        "import warnings; warnings.simplefilter('ignore')\n"
        "import io, torch\n"
        "from labkit.qimad import QIMADTorch\n"
        "m = torch.nn.Linear(3, 1); x = torch.randn(8, 3)\n"
        "opt = QIMADTorch(m.parameters(), num_agents=3, seed=0)\n"
        "def c():\n"
        "    opt.zero_grad(); l = (m(x) ** 2).mean(); l.backward(); return l\n"
        "opt.step(c)\n"
        "buf = io.BytesIO(); torch.save(opt.state_dict(), buf); buf.seek(0)\n"
        "other = QIMADTorch(torch.nn.Linear(3, 1).parameters(), num_agents=3, seed=5)\n"
        "other.load_state_dict(torch.load(buf, weights_only=True))\n"
        "assert torch.equal(other._gen.get_state(), opt._gen.get_state())\n"
        "assert 'numpy' not in sys.modules or sys.modules['numpy'] is None\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_eta_follows_lr_after_a_scheduler_step():
    model = torch.nn.Linear(2, 1)
    opt = QIMADTorch(model.parameters(), num_agents=2, eta=0.1, seed=0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    x = torch.randn(4, 2)

    def closure():
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    sched.step()
    group = opt.param_groups[0]
    assert group["lr"] == group["eta"] == 0.05
    group["eta"] = 0.02  # either spelling sets both
    assert group["lr"] == 0.02
    opt.load_state_dict(opt.state_dict())
    assert opt.param_groups[0]["eta"] == opt.param_groups[0]["lr"] == 0.02


def test_compare_without_its_optional_dependencies_drops_those_baselines(labkit_run, tmp_path, monkeypatch):
    import json

    monkeypatch.setitem(sys.modules, "cma", None)  # as if labkit-qimad were installed without [compare]
    monkeypatch.setitem(sys.modules, "sklearn", None)
    out = tmp_path / "compare"
    res = labkit_run("qimad:compare", preset="quick", out_dir=out,
                     overrides={"problems": ["rastrigin", "digits"], "methods": ["qimad", "adam", "cmaes"],
                                "seeds": 1, "budget": 64, "digits_budget": 32})
    saved = json.loads((out / "results.json").read_text())
    assert saved["status"] == "completed" and saved["skipped_baselines"] == ["cmaes", "digits"]
    assert {(s["problem"], s["method"]) for s in res["summary"]} == {("rastrigin", "qimad"), ("rastrigin", "adam")}
    log = (out / "log.txt").read_text().splitlines()
    assert "baseline 'cmaes' skipped" in log[1] and "baseline 'digits' skipped" in log[2]
