"""FNO shapes, resolution handling, encoding across N, and SpectralConv1d against an explicit DFT."""

import numpy as np
import pytest
import torch

from labkit.nmr_fno.fno import FNO1d, FNOConfig, SpectralConv1d, n_parameter_features
from labkit.nmr_fno.surrogate import Surrogate, SurrogateSpec, encode_systems
from labkit.nmr_fno.systems import random_system


def _explicit_spectral_conv(x: np.ndarray, w: np.ndarray, modes: int) -> np.ndarray:
    """y_t = (1/T)[Re Y_0 + 2 Σ_{k=1}^{m-1} Re(Y_k e^{2πikt/T})], Y_k = Σ_i W_ik X_k, X_k = Σ_t x_t e^{-2πikt/T}."""
    n = x.shape[-1]
    t = np.arange(n)
    k = np.arange(modes)
    dft = np.exp(-2j * np.pi * np.outer(k, t) / n)  # (modes, n), written out instead of np.fft
    xk = np.einsum("bit,kt->bik", x, dft)
    yk = np.einsum("bik,iok->bok", xk, w)
    basis = np.exp(2j * np.pi * np.outer(k, t) / n)  # (modes, n)
    y = yk[..., :1].real * basis[:1].real + 2 * np.real(np.einsum("bok,kt->bot", yk[..., 1:], basis[1:]))
    return y / n


@pytest.mark.parametrize("n_t,modes", [(300, 24), (17, 9), (16, 9)])
def test_spectral_conv_matches_explicit_dft(n_t, modes):
    torch.manual_seed(0)
    conv = SpectralConv1d(3, 2, modes).double()
    x = torch.randn(4, 3, n_t, dtype=torch.float64)
    w = torch.view_as_complex(conv.weight.detach()).numpy()
    expected = _explicit_spectral_conv(x.numpy(), w, modes)
    if modes == n_t // 2 + 1 and n_t % 2 == 0:
        # irfft drops the imaginary part of the Nyquist mode and counts it once: correct the reference
        nyq = np.einsum("bi,io->bo", x.numpy() @ np.cos(np.pi * np.arange(n_t)), w[..., -1]).real
        expected -= (nyq[..., None] * np.cos(np.pi * np.arange(n_t))) / n_t
    np.testing.assert_allclose(conv(x).detach().numpy(), expected, atol=1e-12)


def test_spectral_conv_keeps_exactly_the_lowest_modes():
    conv = SpectralConv1d(1, 1, 24).double()
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[..., 0] = 1.0  # identity on kept modes
    t = torch.arange(300, dtype=torch.float64) / 300
    kept, dropped = torch.cos(2 * torch.pi * 23 * t), torch.cos(2 * torch.pi * 24 * t)
    assert torch.allclose(conv(kept[None, None])[0, 0], kept, atol=1e-12)
    assert conv(dropped[None, None]).abs().max() < 1e-12


def test_spectral_conv_resolution_invariant_on_band_limited_input():
    conv = SpectralConv1d(2, 2, 8).double()
    torch.manual_seed(1)
    coef = torch.randn(2, 8, dtype=torch.complex128)

    def sample(n):
        t = torch.arange(n, dtype=torch.float64) / n
        return torch.stack([sum((coef[c, k] * torch.exp(2j * torch.pi * k * t)).real for k in range(8)) for c in range(2)])[None]

    y300, y600 = conv(sample(300)), conv(sample(600))
    assert torch.allclose(y600[..., ::2], y300, atol=1e-10)


def test_fno_shapes_and_resolution():
    model = FNO1d(FNOConfig(n_max=4, width=8, modes=12, n_layers=3))
    x = torch.randn(5, n_parameter_features(4))
    assert model(x).shape == (5, 3, 300)
    assert model(x, n_t=600).shape == (5, 3, 600)
    with pytest.raises(ValueError, match="too short"):
        model(x, n_t=20)
    with pytest.raises(ValueError, match=r"shape \(batch, 14\)"):
        model(torch.randn(5, 15))


def test_fno_config_errors_name_the_field():
    with pytest.raises(ValueError, match="dropout"):
        FNOConfig(dropout=1.5).validate()
    with pytest.raises(ValueError, match="modes"):
        FNOConfig(n_t=30, modes=24).validate()
    with pytest.raises(ValueError, match="modes"):
        SpectralConv1d(1, 1, 0)


def test_encoding_pads_masks_and_rejects_large_n():
    s = random_system(3, seed=4)
    enc = encode_systems([s], n_max=5)[0]
    assert enc.shape == (n_parameter_features(5),)
    np.testing.assert_allclose(enc[:3], s.offsets_hz / 100.0, rtol=1e-6)
    assert np.all(enc[3:5] == 0) and enc[-5:].tolist() == [1, 1, 1, 0, 0]
    j = np.zeros((5, 5))
    j[np.triu_indices(5, 1)] = enc[5:15] * 20.0
    np.testing.assert_allclose(j[:3, :3] + j[:3, :3].T, s.couplings_hz, rtol=1e-6, atol=1e-5)
    with pytest.raises(ValueError, match=r"n_spins=6.*n_max=5"):
        encode_systems([random_system(6, seed=0)], n_max=5)


def test_surrogate_roundtrip_and_mismatch():
    sur = Surrogate.build(SurrogateSpec(n_max=4, n_t=64), FNOConfig(width=4, modes=8, n_layers=2))
    systems = [random_system(3, seed=1), random_system(4, "ring", seed=2)]
    again = Surrogate.from_state_dict(sur.state_dict())
    np.testing.assert_array_equal(sur.predict(systems), again.predict(systems))
    with pytest.raises(ValueError, match="n_max"):
        Surrogate(FNO1d(FNOConfig(n_max=3, n_t=64, width=4, modes=8, n_layers=1)), SurrogateSpec(n_max=4, n_t=64))


