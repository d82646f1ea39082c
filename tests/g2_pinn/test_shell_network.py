"""The unrestricted 7-D route on the Bryant-Salamon shell: its terms, its gauge-invariant errors, the experiment."""

import csv

import numpy as np
import pytest
import torch

from labkit.g2_pinn import bryant_salamon as bs
from labkit.g2_pinn.charts import exp_quaternion, log_quaternion
from labkit.g2_pinn.geometry import quat_mul
from labkit.g2_pinn.invariants import gauge_invariant_errors, orbit_volume, radius_of_volume
from labkit.g2_pinn.shell import sample_shell
from labkit.g2_pinn.shell_net import NetworkShellLoss, ShellNet, boundary_residual, gauge_residual, sample_slice

A, R1, R2 = 1.0, 1.25, 2.25


def _diffeo(x):
    """(r, y, z) -> (rho(r), log(a(r) exp(y)), z): maps each slice onto a slice, rho(r1) = r1, rho(r2) = r2."""
    r = x[..., :1]
    rho = r + 0.6 * (r - R1) * (R2 - r)
    v = torch.tensor([0.3, -0.2, 0.25], dtype=x.dtype)
    y = log_quaternion(quat_mul(exp_quaternion((r - R1) * v), exp_quaternion(x[..., 1:4])))
    return torch.cat([rho, y, x[..., 4:7]], dim=-1)


def _pulled_back(a):
    """The Bryant-Salamon metric with scale a, pulled back by _diffeo: g(x) = J^T g_exact(F(x)) J."""
    exact = bs.exact_metric_field(a)

    def one(p):
        J = torch.func.jacfwd(_diffeo)(p)
        return J.T @ exact(_diffeo(p)) @ J

    def metric(x):
        flat = x.reshape(-1, 7)
        return torch.func.vmap(one)(flat).reshape(*x.shape[:-1], 7, 7)
    return metric


def _points(n, seed):
    gen = torch.Generator().manual_seed(seed)
    x = sample_shell(n, R1, R2, gen)
    x[:, 1:4] *= 0.8  # keep a(r) exp(y) inside the exponential chart (|y| < pi)
    return x, sample_slice(16, 0.0, gen)[:, 1:] * 0.8


def test_gauge_invariant_error_is_zero_for_the_exact_structure_in_other_coordinates():
    x, ang = _points(6, 0)
    pulled = _pulled_back(A)
    # the chart metric is different (not gauge invariant) ...
    assert float((pulled(x) - bs.exact_metric_field(A)(x)).abs().max()) > 0.1
    # ... but |Rm|^2 paired by orbit volume and the shell volume are the exact ones
    e = gauge_invariant_errors(pulled, x, ang, A, R1, R2, chunk=3)
    assert e["kretschmann_rel_error_max"] < 1e-9
    assert abs(e["shell_volume_rel_error"]) < 1e-10
    assert e["ricci_rms"] < 1e-8 * e["riem_rms"]


def test_gauge_invariant_error_sees_a_wrong_metric():
    x, ang = _points(6, 1)
    e = gauge_invariant_errors(_pulled_back(0.9), x, ang, A, R1, R2, chunk=3)  # another member of the family
    assert e["kretschmann_rel_error_rms"] > 1e-2 and abs(e["shell_volume_rel_error"]) > 1e-3
    cone = ShellNet(A, R1, R2, hidden=(4,))  # the start: the cone through the r1 slice
    assert gauge_invariant_errors(cone.metric, x, ang, A, R1, R2, chunk=3)["kretschmann_rel_error_rms"] > 0.1


def test_orbit_volume_pairs_a_slice_with_its_exact_radius():
    _, ang = _points(1, 2)
    r = torch.tensor([1.3, 1.9], dtype=torch.float64)
    pulled = _pulled_back(A)
    rho = _diffeo(torch.cat([r[:, None], torch.zeros(2, 6, dtype=torch.float64)], 1))[:, 0]
    assert torch.allclose(radius_of_volume(orbit_volume(pulled, r, ang), A), rho, atol=1e-10)


def test_boundary_and_gauge_terms_vanish_at_the_exact_structure_only():
    gen = torch.Generator().manual_seed(3)
    xs = sample_slice(8, R1, gen)
    assert float(boundary_residual(lambda y: bs.bs_phi(y[..., 0], A), xs, A).max()) == 0.0
    assert float(boundary_residual(lambda y: bs.bs_phi(y[..., 0], 1.1), xs, A).min()) > 1e-3
    r = torch.linspace(R1, R2, 7, dtype=torch.float64)
    assert float(gauge_residual(bs.bs_metric(r, A), r, A).max()) < 1e-28
    G = bs.bs_metric(r, A)
    G[:, 0, 3] = G[:, 3, 0] = 0.1  # a shift: d_r no longer orthogonal to the slice
    assert float(gauge_residual(G, r, A).min()) > 1e-4
    assert float(gauge_residual(bs.bs_metric(r, A) * 1.1, r, A).min()) > 1e-3  # a different lapse


@pytest.mark.parametrize("gauge", ["term", "frame"])
def test_network_start_is_the_cone_and_holds_the_data(gauge):
    net = ShellNet(A, R1, R2, hidden=(8,), init_scale=0.3, gauge=gauge)
    xs = sample_slice(6, R1, torch.Generator().manual_seed(4))
    soft = ShellNet(A, R1, R2, hidden=(8,), init_scale=0.3, gauge=gauge, boundary="soft")
    with torch.no_grad():
        assert float(boundary_residual(net.frame_components, xs, A).max()) < 1e-28  # hard boundary: any weights
        assert float(boundary_residual(soft.frame_components, xs, A).min()) > 1e-8  # soft: only the loss holds it
    start = ShellNet(A, R1, R2, hidden=(8,), gauge=gauge)  # init_scale 0: the start, far from the answer
    x = sample_shell(64, R1, R2, torch.Generator().manual_seed(5))
    with torch.no_grad():
        err = bs.metric_relative_error(start.frame_metric(x), x[:, 0], A)
    assert float(err.pow(2).mean().sqrt()) >= 0.2
    if gauge == "frame":  # the gauge holds by construction
        with torch.no_grad():
            assert float(gauge_residual(net.frame_metric(x), x[:, 0], A).max()) < 1e-24


def test_network_field_equals_its_frame_components_pulled_to_the_chart():
    net = ShellNet(A, R1, R2, hidden=(8,), init_scale=0.02)
    x = sample_shell(4, R1, R2, torch.Generator().manual_seed(6))
    from labkit.g2_pinn.forms import pullback_form

    assert torch.allclose(net(x), pullback_form(net.frame_components(x), bs.shell_coframe(x), 3), atol=1e-14)
    t_terms, _ = NetworkShellLoss(A)(net, x, sample_slice(4, R1))
    assert float(t_terms["total"].detach()) > 0


TINY = {"route": "network", "net_hidden": [16, 16], "steps": 30, "qimad_steps": 8, "batch": 16, "boundary_points": 8,
        "eval_points": 16, "curvature_points": 1, "slice_points": 8, "export_points": 12, "checkpoint_every": 10,
        "warmup": 1, "polish_steps": 0}


def test_network_route_end_to_end_reduces_torsion(labkit_run, tmp_path):
    out = tmp_path / "net"
    res = labkit_run("g2-pinn:bryant-salamon", preset=None, overrides=TINY, out_dir=out)
    assert res["problem"]["route"] == "network"
    for name in ("adamw", "qimad"):
        rep = res["optimizers"][name]
        assert 0 < rep["torsion_ratio"] < 1, (name, rep["torsion_ratio"])
        for key in ("kretschmann_rel_error_rms", "shell_volume_rel_error", "metric_rel_error", "ricci_rms",
                    "torsion_rms_curvature_units", "gauge_rms", "boundary_rms", "symmetry_defect"):
            assert np.isfinite(rep[key]), key
        assert rep["gauge_rms"] < 1e-12 and rep["boundary_rms"] < 1e-12  # frame gauge, hard boundary
    assert res["optimizers"]["adamw"]["metric_rel_error"] < res["initial"]["metric_rel_error"]
    data = np.load(out / "export" / "bryant_salamon.npz")
    assert data["G"].shape == data["G_init"].shape == (12, 7, 7) and data["r"].shape == (12,)
    assert data["q1"].shape == data["q2"].shape == (12, 4) and np.all(np.diff(data["r"]) >= 0)


@pytest.mark.slow
def test_network_route_with_the_gauge_term_trains_and_resumes(labkit_run, tmp_path):
    out = tmp_path / "term"
    over = {**TINY, "gauge": "term", "boundary": "soft", "optimizers": ["adamw"]}
    res = labkit_run("g2-pinn:bryant-salamon", preset=None, overrides=over, out_dir=out)
    rep = res["optimizers"]["adamw"]
    assert 0 < rep["torsion_ratio"] < 1 and rep["gauge_rms"] > 0 and rep["boundary_rms"] > 0
    again = labkit_run("g2-pinn:bryant-salamon", preset=None, overrides=over, out_dir=out, resume=True)
    assert again["optimizers"]["adamw"]["final_loss"] == rep["final_loss"]


def test_lbfgs_polish_lowers_the_loss_on_its_points_and_resumes_mid_polish(labkit_run, tmp_path, monkeypatch):
    over = {**TINY, "optimizers": ["adamw"], "polish_steps": 3, "polish_iters": 10, "polish_points": 32}
    res = labkit_run("g2-pinn:bryant-salamon", preset=None, overrides=over, out_dir=tmp_path / "full")
    rep = res["optimizers"]["adamw"]
    assert rep["polish_steps"] == 3 and set(rep["before_polish"]) >= {"torsion_ratio", "kretschmann_rel_error_rms"}
    with open(tmp_path / "full" / "history_adamw_lbfgs.csv") as f:
        losses = [float(row["total"]) for row in csv.DictReader(f)]
    assert len(losses) == 3 and losses[-1] < losses[0]  # quasi-Newton steps on fixed points lower their loss
    # die inside the second polish step (checkpointed after each), resume: the same result as without the crash
    real_step, calls = torch.optim.LBFGS.step, []

    def dying_step(self, closure):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real_step(self, closure)

    monkeypatch.setattr(torch.optim.LBFGS, "step", dying_step)
    with pytest.raises(Exception, match="simulated crash"):
        labkit_run("g2-pinn:bryant-salamon", preset=None, overrides=over, out_dir=tmp_path / "cut")
    monkeypatch.setattr(torch.optim.LBFGS, "step", real_step)
    again = labkit_run("g2-pinn:bryant-salamon", preset=None, overrides=over, out_dir=tmp_path / "cut", resume=True)
    assert again["optimizers"]["adamw"]["polish_final_loss"] == rep["polish_final_loss"]
    assert again["optimizers"]["adamw"]["final_loss"] == rep["final_loss"]


def test_data_on_both_slices_adds_the_outer_slice_to_the_boundary_term():
    from types import SimpleNamespace

    from labkit.g2_pinn._run_shell_network import data_points

    gen = torch.Generator().manual_seed(0)
    pts = data_points(SimpleNamespace(data="both", boundary_points=4, r1=R1, r2=R2), gen)
    assert pts.shape == (8, 7) and sorted(set(pts[:, 0].tolist())) == [R1, R2]
    assert data_points(SimpleNamespace(data="inner", boundary_points=4, r1=R1, r2=R2), gen)[:, 0].eq(R1).all()
    net = ShellNet(A, R1, R2, hidden=(8,))  # hard boundary: phi_BS on r1 exactly; the cone start misses it on r2
    x = sample_shell(4, R1, R2, gen)
    inner, _ = NetworkShellLoss(A)(net, x, pts[:4])
    both, _ = NetworkShellLoss(A)(net, x, pts)
    assert float(inner["boundary"].detach()) == 0.0 and float(both["boundary"].detach()) > 1e-2
