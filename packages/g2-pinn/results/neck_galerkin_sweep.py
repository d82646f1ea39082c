"""lambda_1 of a trained neck vs the Galerkin basis (circle |k| <= K, H_{<=L1} x H_{<=L2}) and quadrature.

Usage: python neck_galerkin_sweep.py RUN_FOLDER OUT.json   (RUN_FOLDER: a g2-pinn:train run on the round chart)
"""

import json
import sys
import time

import numpy as np

from labkit.core import load_run
from labkit.g2_pinn.group_galerkin import circle_factor, product_galerkin, s3_factor
from labkit.g2_pinn.neck_spectrum import pinn_frame_metric

run = load_run(sys.argv[1])
rows = []
for name in ("model", "initial"):
    metric = pinn_frame_metric(run.artifact(name))
    for K, L1, L2, extra in [(1, 1, 1, 0), (1, 1, 1, 2), (1, 2, 1, 0), (1, 2, 1, 2), (2, 2, 1, 0), (1, 3, 1, 0), (1, 2, 2, 0)]:
        t = time.perf_counter()
        f = [circle_factor(K, n=2 * K + 4 + extra), s3_factor(L1, m=2 * L1 + 3 + extra, n_u=L1 // 2 + 2 + extra),
             s3_factor(L2, m=2 * L2 + 3 + extra, n_u=L2 // 2 + 2 + extra)]
        lam = product_galerkin(f, metric, 6)
        n = int(np.prod([x.values.shape[1] for x in f]))
        rows.append({"net": name, "K": K, "L1": L1, "L2": L2, "extra_nodes": extra, "basis": n,
                     "nodes": int(np.prod([len(x.weights) for x in f])), "lambda": lam.tolist(),
                     "seconds": round(time.perf_counter() - t, 1)})
        print(json.dumps(rows[-1]), flush=True)
with open(sys.argv[2], "w") as fh:
    json.dump(rows, fh, indent=1)
