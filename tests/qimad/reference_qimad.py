"""A straightforward sequential QIMAD: per-agent, per-parameter Python loops, complex-number fidelities.

Written independently of the package's vectorised code, it consumes the same random stream in the
same order (so trajectories can be compared number by number) and serves as the "sequential
implementation of the same dynamics" baseline in the benchmarks.
"""

from __future__ import annotations

import cmath
import math

import torch


class ReferenceQIMAD:
    """Sequential reference of QIMADTorch's dynamics (one param group per entry of ``groups``)."""

    def __init__(self, groups, adjacency, *, num_agents=8, gamma=0.05, k=2.0, alpha_lr=0.03, beta_lr=0.03,
                 k_eval=None, seed=0, cooling="cosine", total_steps=None, min_temp=0.05, random_topology=False):
        self.groups = [(list(g["params"]), float(g["eta"])) for g in groups]
        self.n, self.gamma, self.k = num_agents, gamma, k
        self.alpha_lr, self.beta_lr = alpha_lr, beta_lr
        self.k_eval = k_eval or num_agents
        self.cooling, self.total_steps, self.min_temp = cooling, total_steps, min_temp
        self.adj = [[bool(adjacency[i][j]) for j in range(num_agents)] for i in range(num_agents)]
        self.gen = torch.Generator().manual_seed(seed)
        if random_topology:  # the graph draw consumes one number first
            torch.randint(0, 2**62, (1,), generator=self.gen)
        self.alpha = (torch.rand(num_agents, generator=self.gen, dtype=torch.float64) * math.pi).tolist()
        self.beta = (torch.rand(num_agents, generator=self.gen, dtype=torch.float64) * 2 * math.pi).tolist()
        params = [p for ps, _ in self.groups for p in ps]
        self.params = params
        self.agents = [[p.detach().clone() for p in params] for _ in range(num_agents)]
        self.v = [[torch.zeros_like(p) for p in params] for _ in range(num_agents)]
        self.best = [p.detach().clone() for p in params]
        self.best_loss = math.inf
        self.loss = [math.inf] * num_agents
        self.pbest = [math.inf] * num_agents
        self.stag = [0] * num_agents
        self.t = self.ptr = 0

    def temperature(self):
        if self.cooling in (None, "none") or self.total_steps is None:
            return 1.0
        f = min(self.t, self.total_steps) / self.total_steps
        m = self.min_temp
        return {"cosine": m + (1 - m) * 0.5 * (1 + math.cos(math.pi * f)), "linear": 1 - (1 - m) * f,
                "exponential": m ** f}[self.cooling]

    def weights(self, i):
        def psi(a, b):
            return (math.cos(a / 2), cmath.exp(1j * b) * math.sin(a / 2))
        pi = psi(self.alpha[i], self.beta[i])
        w = {}
        for j in range(self.n):
            if self.adj[i][j]:
                pj = psi(self.alpha[j], self.beta[j])
                w[j] = abs(pi[0].conjugate() * pj[0] + pi[1].conjugate() * pj[1]) ** self.k
        total = sum(w.values())
        return {j: x / total for j, x in w.items()} if total > 0 else {}

    def step(self, closure):
        idx = [(self.ptr + j) % self.n for j in range(self.k_eval)]
        self.ptr = (self.ptr + self.k_eval) % self.n
        grads, losses, valid = {}, {}, {}
        for i in idx:
            with torch.no_grad():
                for p, a in zip(self.params, self.agents[i], strict=True):
                    p.copy_(a)
                    p.grad = None
            with torch.enable_grad():
                loss = float(torch.as_tensor(closure()).detach())
            grads[i] = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in self.params]
            losses[i] = loss
            valid[i] = math.isfinite(loss) and all(bool(torch.isfinite(g).all()) for g in grads[i])
        snapshot = [[a.clone() for a in agent] for agent in self.agents]
        ok = [(losses[i], pos) for pos, i in enumerate(idx) if valid[i]]
        if ok and min(ok)[0] < self.best_loss:  # global best: first minimum in evaluation order
            loss, pos = min(ok)
            self.best_loss, self.best = loss, [a.clone() for a in snapshot[idx[pos]]]
        for i in idx:
            self.loss[i] = losses[i]
            if valid[i] and losses[i] < self.pbest[i]:
                self.pbest[i], self.stag[i] = losses[i], 0
            else:
                self.stag[i] += 1
        temp = self.temperature()
        # one uniform draw per step: 2n for the Gaussian walks (Box-Muller), then k + k for r and u
        uni = torch.rand(2 * self.n + (2 * len(idx) if self.n > 1 else 0), generator=self.gen,
                         dtype=torch.float64).tolist()
        normals = []
        for pair in range(self.n):
            u1, u2 = uni[2 * pair], uni[2 * pair + 1]
            rad = math.sqrt(-2.0 * math.log(1.0 - u1))
            normals += [rad * math.cos(2 * math.pi * u2), rad * math.sin(2 * math.pi * u2)]
        da, db = normals[:self.n], normals[self.n:]
        for i in range(self.n):
            self.alpha[i] = min(max(self.alpha[i] + self.alpha_lr * temp * da[i], 0.0), math.pi)
            self.beta[i] = (self.beta[i] + self.beta_lr * temp * db[i]) % (2 * math.pi)
        tunnel = {i: False for i in idx}
        if self.n > 1:
            r = uni[2 * self.n:2 * self.n + len(idx)]
            u = uni[2 * self.n + len(idx):]
            for pos, i in enumerate(idx):
                if self.stag[i] > 3 and u[pos] < math.sin(self.alpha[i] / 2) ** 2 and valid[i]:
                    tunnel[i], self.stag[i] = True, 0
            rows = [i for i in idx if tunnel[i]]
            noise = {}  # one (n_tunnel, D_group) draw per group, in group order
            start = 0
            for ps, _ in self.groups:
                dt = ps[0].dtype
                d = sum(p.numel() for p in ps)
                if rows:
                    z = torch.rand(len(rows), d, generator=self.gen, dtype=dt)
                    for row, i in enumerate(rows):
                        off = 0
                        for q, p in enumerate(ps):
                            noise[(i, start + q)] = z[row, off:off + p.numel()].view(p.shape)
                            off += p.numel()
                start += len(ps)
        etas = [eta for ps, eta in self.groups for _ in ps]
        for pos, i in enumerate(idx):
            if not valid[i]:
                self.agents[i] = [b.clone() for b in self.best]
                continue
            theta = snapshot[i]
            w = self.weights(i) if self.n > 1 else {}
            has_nb = any(self.adj[i])
            total = sum(a.numel() for a in theta)
            mean_abs = sum(float(a.abs().double().sum()) for a in theta) / total
            new = []
            for q, (th, g, v) in enumerate(zip(theta, grads[i], self.v[i], strict=True)):
                v.mul_(0.99).addcmul_(g, g, value=1 - 0.99)
                x = th - etas[q] * g / (v.sqrt() + 1e-8)
                if self.n > 1:
                    x = x + (0.2 * r[pos] * has_nb) * (self.best[q] - th)
                    x = x + self.gamma * sum(wij * (snapshot[j][q] - th) for j, wij in w.items())
                    if tunnel[i]:
                        x = x + (noise[(i, q)] * 2 - 1) * ((0.8 * mean_abs + 0.1) * temp)
                new.append(x)
            self.agents[i] = new
        with torch.no_grad():
            for p, b in zip(self.params, self.best, strict=True):
                p.copy_(b)
        self.t += 1
        return self.best_loss
