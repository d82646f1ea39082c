"""labkit.g2_pinn: a G2 3-form PINN on the TCS neck, real torsion, curvature and Laplacian spectra."""
