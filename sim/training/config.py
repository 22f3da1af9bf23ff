"""How to train: optimizer, learning rate, batches, epochs, trainable layers, regularization."""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from .errors import TrainingError


class Optimizer(str, Enum):
    """optax optimizer used for the updates."""

    ADAM = "adam"
    SGD = "sgd"


class Precision(str, Enum):
    """Floating-point type of the training computation (measurements are always float64)."""

    FLOAT32 = "float32"
    FLOAT64 = "float64"     # runs under jax.enable_x64 for the duration of the call only


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters.

    Attributes
    ----------
    lr : float
        Learning rate (> 0).  HR use Adam at 1e-3.
    epochs : int
        Number of passes (>= 1); each has floor(n_train / batch_size) steps, the
        remainder of the shuffled order is dropped.
    batch_size : int
        Samples per mini-batch (>= 1, at most the number of training samples).
    optimizer : Optimizer
        ``adam`` (optax.adam, default betas) or ``sgd`` (optax.sgd with ``momentum``).
    momentum : float
        SGD momentum (0: plain SGD); ignored by Adam.
    trainable : tuple of int or None
        Layers l in 1..D whose W^l, b^l (and BN gamma, beta) are trained; the others
        stay bitwise at their initial values.  None: all layers.
    trajectory_reg : float
        lambda of the trajectory regularization term (0: off), see ``trainer.train``.
    reg_layers : tuple of int or None
        Layers whose trajectory length is regularized; None: every hidden layer
        1..D-1 (where batch normalization would sit).
    reg_curve : array (n, N0) or None
        The interpolation whose length is measured; None: the mini-batch in its
        (shuffled) order, as on the slides.
    seed : int
        Seed of the batch order (the weights come from ``NetworkSpec.seed``).
    precision : Precision
        ``float32`` (default) or ``float64`` training; measurements are float64 either way.

    Raises
    ------
    TrainingError
        On construction: an unknown optimizer or precision, a learning rate that is not a
        positive number, epochs or batch_size not a positive integer, momentum outside
        [0, 1), a negative or non-finite trajectory_reg, or an empty ``trainable``.
    """

    lr: float = 1e-3
    epochs: int = 1
    batch_size: int = 128
    optimizer: Optimizer = Optimizer.ADAM
    momentum: float = 0.0
    trainable: tuple | None = None
    trajectory_reg: float = 0.0
    reg_layers: tuple | None = None
    reg_curve: np.ndarray | None = None
    seed: int = 0
    precision: Precision = Precision.FLOAT32

    def __post_init__(self):
        try:
            object.__setattr__(self, "optimizer", Optimizer(self.optimizer))
            object.__setattr__(self, "precision", Precision(self.precision))
        except ValueError as exc:
            raise TrainingError(f"{exc}; choose one of adam/sgd and float32/float64") from None
        try:
            lr = float(self.lr)
        except (TypeError, ValueError):
            lr = math.nan
        if not (math.isfinite(lr) and lr > 0):
            raise TrainingError(f"the learning rate must be a positive number, got {self.lr}")
        object.__setattr__(self, "lr", lr)
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise TrainingError(f"epochs must be a positive integer, got {self.epochs}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise TrainingError(f"batch_size must be a positive integer, got {self.batch_size}")
        if not 0.0 <= self.momentum < 1.0:
            raise TrainingError(f"momentum must lie in [0, 1), got {self.momentum}")
        if not (math.isfinite(self.trajectory_reg) and self.trajectory_reg >= 0):
            raise TrainingError(f"trajectory_reg (lambda) must be >= 0, got {self.trajectory_reg}")
        for name in ("trainable", "reg_layers"):
            val = getattr(self, name)
            if val is not None:
                object.__setattr__(self, name, tuple(sorted({int(l) for l in val})))
        if self.trainable == ():
            raise TrainingError("trainable is empty: name at least one layer (1..D) or pass None for all")
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "batch_size", int(self.batch_size))
