"""The exact Bryant-Salamon G2 structure (package torsion and curvature code), the shell ansatz, the experiment."""

import math

import numpy as np
import pytest
import torch

from labkit.g2_pinn import bryant_salamon as bs
from labkit.g2_pinn.curvature import curvature
from labkit.g2_pinn.shell import ShellLoss, ShellPhi, sample_shell
from labkit.g2_pinn.torsion import torsion

A = 1.0


def _points(n, seed, r1=1.05, r2=3.0):
    return sample_shell(n, r1, r2, torch.Generator().manual_seed(seed))


def test_exact_structure_is_torsion_free_at_random_points():
    x = _points(24, 0)
    t = torsion(bs.exact_field(A), x)
    assert float(t["dphi_sq"].max().sqrt()) < 1e-8 and float(t["dstar_sq"].max().sqrt()) < 1e-8
    # and it is the metric of the issue: the induced metric is the closed form, at every point
    C = bs.shell_coframe(x)
    closed = C.transpose(-1, -2) @ bs.bs_metric(x[:, 0], A) @ C
    assert torch.allclose(t["metric"], closed, atol=1e-12)


def test_exact_metric_is_ricci_flat_and_curved():
    x = _points(12, 1)
    c = curvature(bs.exact_metric_field(A), x, chunk=6)
    riem = c["kretschmann"].sqrt()
    assert float(riem.min()) > 0.1  # clearly curved: |Rm| ~ a^3 / r^5 scale, 0.2..20 on this range
    assert float(c["ricci_sq"].clamp_min(0).sqrt().max()) < 1e-8
    assert float(c["scalar"].abs().max()) < 1e-8


def test_the_maurer_cartan_normalisation_is_not_the_answer(monkeypatch):
    # the normalisation trap: the same formula with d sigma_1 = -2 sigma_2 ^ sigma_3 (sigma = MC forms)
    monkeypatch.setattr(bs, "EULER", 1.0)
    x = _points(6, 2)
    t = torsion(bs.exact_field(A), x)
    assert float(t["dphi_sq"].min().sqrt()) > 1e-2
    c = curvature(bs.exact_metric_field(A), x, chunk=6)
    assert float(c["ricci_sq"].sqrt().min()) > 1e-2


def test_other_phases_of_omega_are_not_closed():
    # phi = e0 ^ omega - Im Omega is the torsion-free one; + Im Omega (Omega -> -Omega) is not
    from labkit.g2_pinn.forms import index_sets, pullback_form

    omega_part = torch.tensor([1.0 if I[0] == 0 else 0.0 for I in index_sets(3)], dtype=torch.float64)
    flipped = bs.orthonormal_phi() * (2 * omega_part - 1)
    field = lambda y: pullback_form(  # noqa: E731
        pullback_form(flipped.expand(len(y), 35), bs.bs_coframe(y[:, 0], A), 3), bs.shell_coframe(y), 3)
    assert float(torsion(field, _points(4, 3))["dphi_sq"].min().sqrt()) > 1e-2


def test_metric_matches_the_issue_formula_in_the_maurer_cartan_coframe():
    # at y = z = 0 the chart's coordinates are Maurer-Cartan: (4 r^2/9) f (nu - sigma/2)^2 + (r^2/3) sigma^2
    r = torch.tensor([1.3, 1.7, 2.9], dtype=torch.float64)
    x = torch.cat([r[:, None], torch.zeros(3, 6, dtype=torch.float64)], 1)
    g = bs.exact_metric_field(A)
    f = 1 - A ** 3 / r ** 3
    for k in range(3):
        G = g(x[k])
        assert abs(float(G[0, 0]) - 1 / float(f[k])) < 1e-12
        assert abs(float(G[1, 1]) - float(4 * r[k] ** 2 / 9 * f[k] / 4 + r[k] ** 2 / 3)) < 1e-12
        assert abs(float(G[4, 4]) - float(4 * r[k] ** 2 / 9 * f[k])) < 1e-12
        assert abs(float(G[1, 4]) + float(4 * r[k] ** 2 / 9 * f[k] / 2)) < 1e-12


def test_exact_phi_is_invariant_and_obeys_the_closed_odes():
    r = torch.linspace(1.1, 3.0, 9, dtype=torch.float64)
    c, rest = bs.invariant_coefficients(bs.bs_phi(r, A))
    assert float(rest.max()) < 1e-14  # SU(2)^3-invariant: in the span of the five forms
    assert torch.allclose(c[:, 0], r ** 2 / (6 * math.sqrt(3)), atol=1e-14)  # the gauge ShellPhi uses
    assert float((c[:, 1] - c[0, 1]).abs().max()) < 1e-14 and float(c[:, 2].abs().max()) < 1e-14
    assert torch.allclose(c[:, 3], -c[:, 4], atol=1e-14)
    h = 1e-4
    d3 = (bs.invariant_coefficients(bs.bs_phi(r + h, A))[0][:, 3]
          - bs.invariant_coefficients(bs.bs_phi(r - h, A))[0][:, 3]) / (2 * h)
    assert torch.allclose(d3, c[:, 0], atol=1e-7)  # c_3' = c_0
    assert torch.allclose(12 * bs.base_size(bs.bs_metric(r, A)) / r ** 2, torch.ones_like(r), atol=1e-13)


def test_shell_start_holds_the_data_at_r1_and_is_far_and_torsionful():
    net = ShellPhi(A, 1.25, 2.25, hidden=(8,), init_scale=0.5)  # any weights: the data at r1 still hold
    r1 = torch.tensor([1.25], dtype=torch.float64)
    exact, _ = bs.invariant_coefficients(bs.bs_phi(r1, A))
    assert torch.allclose(net.coefficients(r1), exact, atol=1e-14)
    start = ShellPhi(A, 1.25, 2.25)  # init_scale 0: exactly the cone through the r1 slice
    r = torch.linspace(1.25, 2.25, 101, dtype=torch.float64)
    with torch.no_grad():
        err = bs.metric_relative_error(start.frame_metric(r), r, A)
    assert float(err.pow(2).mean().sqrt()) >= 0.2
    terms, _ = ShellLoss()(start, sample_shell(8, 1.25, 2.25, torch.Generator().manual_seed(0)))
    assert float(terms["total"].detach()) > 1.0


def test_shell_field_is_the_exact_one_when_its_coefficients_are():
    # the shell's 7-D field uses the same chart and pullback as exact_field: same coordinate components
    net = ShellPhi(A, 1.25, 2.25)
    x = sample_shell(5, 1.25, 2.25, torch.Generator().manual_seed(4))
    net.coefficients = lambda r: bs.invariant_coefficients(bs.bs_phi(r, A))[0]
    assert torch.allclose(net(x), bs.exact_field(A)(x), atol=1e-13)


def test_config_refuses_a_shell_far_from_the_bolt():
    from labkit.core import ConfigError
    from labkit.g2_pinn.experiments import BryantSalamonConfig

    with pytest.raises(ConfigError, match="r1"):
        BryantSalamonConfig(r1=1.5).validate()
    with pytest.raises(ConfigError, match="r2"):
        BryantSalamonConfig(r2=1.8).validate()
    with pytest.raises(ConfigError, match="optimizers"):
        BryantSalamonConfig(optimizers=["sgd"]).validate()


SMALL = {"steps": 12, "qimad_steps": 3, "batch": 8, "eval_points": 16, "curvature_points": 2, "export_points": 11,
         "checkpoint_every": 5, "warmup": 2}


def test_experiment_end_to_end_exports_and_resumes(labkit_run, tmp_path):
    out = tmp_path / "bs"
    res = labkit_run("g2-pinn:bryant-salamon", preset="quick", overrides=SMALL, out_dir=out)
    h = res["headline"]
    assert h["metric_rel_error_initial"] >= 0.2 and res["validation"]["start_far_from_answer"]
    assert res["validation"]["exact_ricci_flat"] and res["validation"]["start_not_torsion_free"]
    for name in ("adamw", "qimad"):
        assert 0 < h[f"torsion_ratio_{name}"] < 1  # even a few steps lower the torsion
        assert res["optimizers"][name]["steps"] == SMALL["steps" if name == "adamw" else "qimad_steps"]
    data = np.load(out / "export" / "bryant_salamon.npz")
    assert float(data["a"]) == 1.0 and data["r"].shape == (11,)
    assert data["G"].shape == data["G_init"].shape == (11, 7, 7)
    assert np.allclose(data["G"], data["G_adamw"]) and np.allclose(data["G_init"], data["G_init"].transpose(0, 2, 1))
    assert (out / "figures" / "bryant_salamon.png").exists()
    again = labkit_run("g2-pinn:bryant-salamon", preset="quick", overrides=SMALL, out_dir=out, resume=True)
    assert again["optimizers"]["adamw"]["final_loss"] == res["optimizers"]["adamw"]["final_loss"]


@pytest.mark.slow
def test_quick_preset_meets_its_figures(labkit_run, tmp_path, monkeypatch):
    from labkit.core.timing import pinned_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with pinned_threads(1):  # one thread for this run only, the previous setting back after it
        res = labkit_run("g2-pinn:bryant-salamon", preset="quick", out_dir=tmp_path / "q")
    for name in ("adamw", "qimad"):
        rep = res["optimizers"][name]
        assert rep["metric_rel_error_initial"] >= 0.2
        assert rep["metric_rel_error"] <= 1e-2 and rep["torsion_ratio"] <= 1 / 20
        assert rep["base_size_rel_error_max"] <= 2e-2  # not imposed: an independent check
