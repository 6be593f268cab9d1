"""One recursive-least-squares step, shared by every online regression in ``anomaly``."""

from __future__ import annotations

import numpy as np

__all__ = ["rls_step"]


def rls_step(p: np.ndarray, x: np.ndarray, forget: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The gain for regressor row ``x`` and the inverse-covariance ``p`` after it.

    The caller moves its weights by ``gain * residual`` (the residual taken before the
    step); ``forget`` below 1 discounts old rows exponentially.
    """
    p_x = p @ x
    gain = p_x / (forget + float(x @ p_x))
    p_next: np.ndarray = (p - np.outer(gain, p_x)) / forget
    return gain, p_next
