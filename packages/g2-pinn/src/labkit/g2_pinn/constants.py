"""Topological and normalisation constants of the TCS G2 manifold K7 used by the plugin."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

__all__ = ["CONSTANTS", "G2Constants"]


@dataclass(frozen=True)
class G2Constants:
    """Frozen constants: dimensions, Betti numbers, targets and the neck radii.

    Example:
        >>> CONSTANTS.h_star, round(CONSTANTS.lambda1_target * CONSTANTS.h_star, 12)
        (99, 13.0)
    """

    dim: int = 7
    b2_m1: int = 11
    b2_m2: int = 10
    b3_m1: int = 40
    b3_m2: int = 37
    dim_g2: int = 14
    det_g_target: Fraction = Fraction(65, 32)
    lambda1_times_h_star: int = 13
    neck_radii: tuple[float, float] = (33.0, 28.0)
    # phi_ikl phi_jkl = 6 delta_ij for the standard 3-form in an orthonormal frame
    phi_normalisation: float = 6.0
    n_components: int = 35

    @property
    def b2(self) -> int:
        """Second Betti number b2 = 11 + 10 = 21."""
        return self.b2_m1 + self.b2_m2

    @property
    def b3(self) -> int:
        """Third Betti number b3 = 40 + 37 = 77."""
        return self.b3_m1 + self.b3_m2

    @property
    def h_star(self) -> int:
        """H* = b2 + b3 + 1 = 99."""
        return self.b2 + self.b3 + 1

    @property
    def lambda1_target(self) -> float:
        """Predicted spectral gap lambda1 = 13 / H* = 13/99."""
        return self.lambda1_times_h_star / self.h_star

    @property
    def radius_ratio(self) -> float:
        """Neck radius ratio r1 / r2 = 33/28."""
        return self.neck_radii[0] / self.neck_radii[1]

    def as_dict(self) -> dict[str, object]:
        """JSON-able dict of every field and derived value."""
        d: dict[str, object] = asdict(self)
        d["det_g_target"] = float(self.det_g_target)
        d["neck_radii"] = list(self.neck_radii)
        d.update(b2=self.b2, b3=self.b3, h_star=self.h_star,
                 lambda1_target=self.lambda1_target, radius_ratio=self.radius_ratio)
        return d


CONSTANTS = G2Constants()
