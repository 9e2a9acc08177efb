"""Classification metrics of ThreatDetectorNN (pure numpy): confusion matrix, macro-F1,
expected calibration error, reliability bins and the temperature fit.

- ``macro_f1``: the unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN) (a class
  absent from both truth and prediction scores 1, as its F1 is then undefined-but-perfect;
  sklearn's ``zero_division=1`` convention).
- ``expected_calibration_error``: Guo et al. 2017, "On Calibration of Modern Neural Networks":
  samples binned by their top probability into ``bins`` equal-width bins; ECE = Σ_b (n_b/N)
  |accuracy_b - confidence_b|.
- ``fit_temperature``: the T > 0 minimising the negative log-likelihood of softmax(logits/T)
  on validation logits (a grid of 401 log-spaced values in [0.05, 20], then a golden-section
  refinement around the best one): deterministic, no optimiser state.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def confusion_matrix(truth: npt.ArrayLike, predicted: npt.ArrayLike, classes: int) -> IntArray:
    """Counts, rows = true class, columns = predicted class."""
    t = np.asarray(truth, dtype=np.int64)
    p = np.asarray(predicted, dtype=np.int64)
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (t, p), 1)
    return matrix


def per_class_f1(matrix: IntArray) -> FloatArray:
    tp = np.diag(matrix).astype(np.float64)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 1.0)


def macro_f1(truth: npt.ArrayLike, predicted: npt.ArrayLike, classes: int) -> float:
    return float(per_class_f1(confusion_matrix(truth, predicted, classes)).mean())


def softmax(logits: npt.ArrayLike, temperature: float = 1.0) -> FloatArray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def negative_log_likelihood(
    logits: npt.ArrayLike, truth: npt.ArrayLike, temperature: float
) -> float:
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    t = np.asarray(truth, dtype=np.int64)
    return float(np.mean(log_norm - z[np.arange(len(t)), t]))


def fit_temperature(logits: npt.ArrayLike, truth: npt.ArrayLike) -> float:
    grid = np.exp(np.linspace(math.log(0.05), math.log(20.0), 401))
    losses = [negative_log_likelihood(logits, truth, float(t)) for t in grid]
    best = int(np.argmin(losses))
    low = math.log(grid[max(best - 1, 0)])
    high = math.log(grid[min(best + 1, len(grid) - 1)])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(40):
        a = high - ratio * (high - low)
        b = low + ratio * (high - low)
        if negative_log_likelihood(logits, truth, math.exp(a)) <= negative_log_likelihood(
            logits, truth, math.exp(b)
        ):
            high = b
        else:
            low = a
    return math.exp((low + high) / 2.0)


def reliability_bins(
    probabilities: npt.ArrayLike, truth: npt.ArrayLike, bins: int = 15
) -> tuple[FloatArray, FloatArray, IntArray]:
    """(mean confidence, accuracy, count) per equal-width bin of the top probability
    (NaN confidence and accuracy in an empty bin)."""
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(truth, dtype=np.int64)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == t).astype(np.float64)
    index = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=bins) / counts
        accuracy = np.bincount(index, correct, minlength=bins) / counts
    return mean_confidence, accuracy, counts


def expected_calibration_error(
    probabilities: npt.ArrayLike, truth: npt.ArrayLike, bins: int = 15
) -> float:
    confidence, accuracy, counts = reliability_bins(probabilities, truth, bins)
    used = counts > 0
    total = counts.sum()
    return float(np.sum(counts[used] / total * np.abs(accuracy[used] - confidence[used])))
