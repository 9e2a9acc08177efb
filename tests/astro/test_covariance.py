"""Covariance validation/repair (astroshield.astro.dynamics.covariance)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.astro.paths import load_pc_cases

from astroshield.astro.dynamics.covariance import (
    CovarianceError,
    check_covariance,
    check_symmetric,
    is_positive_definite,
    repair_eigenvalue_clip,
)


def test_cara_rounding_asymmetry_is_accepted() -> None:
    # CARA's Omitron C1 has a 1e-15 relative asymmetry (fixture note); it must pass and be
    # symmetrised, not refused.
    c1 = np.array(load_pc_cases()["omitron_case_A"]["C1"])
    assert not np.array_equal(c1, c1.T)
    sym = check_symmetric(c1)
    assert np.array_equal(sym, sym.T)
    chk = check_covariance(c1, repair=False)
    assert not chk.repaired
    np.testing.assert_allclose(chk.matrix, c1, rtol=1e-14)


def test_asymmetric_beyond_tolerance_is_refused() -> None:
    c = np.array([[4.0, 1.0], [1.001, 9.0]])
    with pytest.raises(CovarianceError, match="not symmetric"):
        check_covariance(c)
    with pytest.raises(CovarianceError, match="not symmetric"):
        check_covariance(c, repair=True)


def test_slightly_non_pd_is_repaired_and_reported() -> None:
    # Rank-1 matrix perturbed by rounding: smallest eigenvalue ~ -5e-10 (numerical noise).
    c = np.array([[1.0, 1.0], [1.0, 1.0 - 1e-9]])
    assert not is_positive_definite(c)
    chk = check_covariance(c, repair=True, floor=1e-12)
    assert chk.repaired
    assert chk.clipped_count == 1
    assert chk.eigenvalues[0] < 0.0
    # Reconstruction Q L Q^T is exact to ~eps * lambda_max.
    assert np.linalg.eigvalsh(chk.matrix)[0] >= 1e-12 - 4 * np.finfo(float).eps
    assert is_positive_definite(chk.matrix)
    np.testing.assert_allclose(chk.matrix, c, atol=1e-9)


def test_badly_non_pd_is_refused_without_repair() -> None:
    c = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    with pytest.raises(CovarianceError, match="not positive definite"):
        check_covariance(c, repair=False)


def test_eigenvalue_clip_is_nearest_psd_matrix() -> None:
    # Higham (1988): the Frobenius-nearest PSD matrix to symmetric A is Q max(L, 0) Q^T.
    # For [[1, 2], [2, 1]] (eigenpairs 3:(1,1)/sqrt2, -1:(1,-1)/sqrt2) that is 1.5 * ones.
    rep, w, n = repair_eigenvalue_clip(np.array([[1.0, 2.0], [2.0, 1.0]]))
    assert n == 1
    np.testing.assert_allclose(w, [-1.0, 3.0])
    np.testing.assert_allclose(rep, [[1.5, 1.5], [1.5, 1.5]], atol=1e-15)


def test_positive_definite_untouched() -> None:
    c = np.diag([1.0, 2.0, 3.0])
    chk = check_covariance(c, repair=True, floor=1e-6)
    assert not chk.repaired
    np.testing.assert_array_equal(chk.matrix, c)


@pytest.mark.parametrize(
    "bad",
    [np.array([[1.0, np.nan], [np.nan, 1.0]]), np.ones((2, 3)), np.ones(3), np.zeros((0, 0))],
)
def test_malformed_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(CovarianceError):
        check_covariance(bad)


def test_negative_floor_rejected() -> None:
    with pytest.raises(ValueError, match="floor"):
        repair_eigenvalue_clip(np.eye(2), -1.0)
