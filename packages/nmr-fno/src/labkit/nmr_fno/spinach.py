"""Bridge to Spinach (MATLAB) through matlab.engine; reports itself unavailable when it cannot run.

Nothing here ever substitutes another simulator's output for Spinach's: without MATLAB's engine
and Spinach on the MATLAB path, `simulate_spinach` raises SpinachUnavailable with the reason.

Example:
    >>> ok, why = spinach_available()
    >>> isinstance(ok, bool) and isinstance(why, str)
    True
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np

from .grid import check_observables, check_times
from .systems import SpinSystem

__all__ = ["SpinachUnavailable", "simulate_spinach", "spinach_available"]

# 1H Larmor frequency per tesla; the bridge places offsets at a 1H frequency at this field
_GAMMA_1H_MHZ_PER_T = 42.577478518
_FIELD_T = 14.1


class SpinachUnavailable(RuntimeError):
    """Spinach cannot run here (no MATLAB engine, or Spinach not on the MATLAB path)."""


def spinach_available() -> tuple[bool, str]:
    """(True, "") when matlab.engine imports and a MATLAB session finds Spinach's `liquid`; else (False, why)."""
    if importlib.util.find_spec("matlab") is None or importlib.util.find_spec("matlab.engine") is None:
        return False, "Spinach bridge unavailable: the MATLAB Engine API for Python (matlab.engine) is not installed"
    try:
        import matlab.engine

        eng = matlab.engine.start_matlab()
    except Exception as exc:  # pragma: no cover - needs MATLAB
        return False, f"Spinach bridge unavailable: MATLAB engine failed to start ({exc})"
    try:  # pragma: no cover - needs MATLAB
        if int(eng.exist("liquid")) == 0:
            return False, "Spinach bridge unavailable: MATLAB runs but Spinach ('liquid') is not on its path"
        return True, ""
    finally:  # pragma: no cover
        eng.quit()


def simulate_spinach(
    system: SpinSystem,
    times: Sequence[float] | np.ndarray | None = None,
    observables: Sequence[str] | None = None,
    **_: Any,
) -> dict[str, np.ndarray]:
    """Run the system's pulse-acquire FID in Spinach (uniform grids starting at 0; Mx, My only)."""
    t = check_times(times)
    obs = check_observables(observables)
    ok, why = spinach_available()
    if not ok:
        raise SpinachUnavailable(why)
    if "I1z" in obs:  # pragma: no cover - needs MATLAB
        raise SpinachUnavailable("Spinach bridge: only the FID (Mx, My) is wired; ask for observables=('Mx', 'My')")
    d = np.diff(t)
    if t[0] != 0.0 or t.size < 2 or not np.allclose(d, d[0]):
        raise ValueError("times: the Spinach bridge needs a uniform grid starting at t = 0")
    import matlab  # pragma: no cover
    import matlab.engine  # pragma: no cover

    eng = matlab.engine.start_matlab()  # pragma: no cover
    try:  # pragma: no cover - needs MATLAB + Spinach
        base_mhz = _GAMMA_1H_MHZ_PER_T * _FIELD_T
        eng.workspace["ppm"] = matlab.double((system.offsets_hz / base_mhz).tolist())
        eng.workspace["J"] = matlab.double(system.couplings_hz.tolist())
        eng.workspace["B0"] = float(_FIELD_T)
        eng.workspace["sw"] = float(1.0 / d[0])
        eng.workspace["np_"] = float(t.size)
        eng.eval(
            "n=numel(ppm); sys.magnet=B0; sys.isotopes=repmat({'1H'},1,n);"
            "inter.zeeman.scalar=num2cell(ppm); inter.coupling.scalar=num2cell(triu(J,1));"
            "bas.formalism='zeeman-hilb'; bas.approximation='none';"
            "spin_system=create(sys,inter); spin_system=basis(spin_system,bas);"
            "parameters.spins={'1H'}; parameters.offset=0; parameters.sweep=sw; parameters.npoints=np_;"
            "parameters.rho0=state(spin_system,'Lx','1H'); parameters.coil=state(spin_system,'L+','1H');"
            "parameters.decouple={}; fid=liquid(spin_system,@acquire,parameters,'nmr');",
            nargout=0,
        )
        fid = np.asarray(eng.workspace["fid"], dtype=complex).ravel()[: t.size]
    finally:  # pragma: no cover
        eng.quit()
    fid = fid / fid[0].real  # pragma: no cover
    return {"t": t, "Mx": fid.real.copy(), "My": fid.imag.copy()}  # pragma: no cover
