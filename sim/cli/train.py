"""``meanfield train``: train one fully connected network on MNIST and write its history.

A plugin of the ``meanfield`` console script (entry point group ``meanfield.commands``).
Writes ``OUT/history.csv`` (one row per measurement step: step, epoch, train_loss,
train_accuracy, test_loss, test_accuracy) and ``OUT/history.png``.  Exit status 0 on
success, 2 on bad input (one line on stderr, nothing written).
"""
from __future__ import annotations

import math
import sys


def add_parser(subparsers) -> None:
    """Add the ``train`` subcommand and its options (the ``meanfield.commands`` plugin hook).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The ``meanfield`` console script's subcommands.
    """
    p = subparsers.add_parser(
        "train", help="train a fully connected network on MNIST (JAX) and write its history",
        description="Train a fully connected network 784 -> WIDTHS -> 10 on MNIST with cross-entropy and "
                    "optax (Adam by default), initialised exactly as sim.RandomNetwork(phi, widths, sigma_w, "
                    "sigma_b, seed); write OUT/history.csv and OUT/history.png.  Needs "
                    "pip install 'meanfield[train]'.")
    p.add_argument("--data", default=None,
                   help="folder with the four MNIST IDX files (gzipped or not), or holding mnist/ with them "
                        "(default: $MEANFIELD_DATA)")
    p.add_argument("--widths", default="32,32,32", help="hidden widths N1,...,N(D-1) (default 32,32,32)")
    p.add_argument("--phi", default="relu", help="nonlinearity: a name or an expression in x (default relu)")
    p.add_argument("--sigma-w", type=float, default=math.sqrt(2), help="weight std sigma_w (default sqrt(2), He)")
    p.add_argument("--sigma-b", type=float, default=0.1, help="bias std sigma_b (default 0.1)")
    p.add_argument("--epochs", type=int, default=1, help="epochs (default 1)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument("--batch-size", type=int, default=128, help="mini-batch size (default 128)")
    p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"], help="optimizer (default adam)")
    p.add_argument("--per-epoch", type=int, default=4, help="measurements per epoch (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the batch order (default 0)")
    p.add_argument("--out", default="train_out", help="output folder (default ./train_out)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    """Train one network on MNIST and write ``OUT/history.csv`` and ``OUT/history.png``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options of ``meanfield train``.

    Returns
    -------
    int
        Exit status: 0 success; 2 bad input (including missing JAX or MNIST) or an
        output that cannot be written (one line on stderr).
    """
    from .arguments import parse_widths

    try:
        hidden = parse_widths(args.widths)
        from ..data import load_mnist
        from ..training import NetworkSpec, TrainConfig, measurement_steps, train
        from ..training._deps import require_jax
        from .output import check_output_dir, write_files

        out = check_output_dir(args.out, ("history.csv", "history.png"))
        if args.per_epoch < 1:
            raise ValueError(f"--per-epoch must be at least 1, got {args.per_epoch}")
        config = TrainConfig(lr=args.lr, epochs=args.epochs, batch_size=args.batch_size,
                             optimizer=args.optimizer, seed=args.seed)
        spec = NetworkSpec([784, *hidden, 10], phi=args.phi, sigma_w=args.sigma_w, sigma_b=args.sigma_b,
                           seed=args.seed)
        require_jax()
        data = load_mnist(args.data).scaled()
        spe = data.x_train.shape[0] // config.batch_size
        steps = measurement_steps(max(spe, 1), config.epochs, per_epoch=args.per_epoch)
        hist = train(spec, data, config, steps=steps, progress=not args.quiet)
    except ValueError as exc:  # every package error is a ValueError subclass
        print(f"meanfield train: {exc}", file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    fig = hist.plot()
    fig.suptitle(f"MNIST 784-{'-'.join(map(str, hidden))}-10, phi={args.phi}, lr={args.lr:g}, seed={args.seed}")
    fig.tight_layout()
    try:
        # both files or neither: a failing savefig must not leave history.csv behind
        write_files(out, {"history.csv": hist.to_csv, "history.png": lambda p: fig.savefig(p, dpi=120)})
    except OSError as exc:
        print(f"meanfield train: cannot write to {out}: {exc}", file=sys.stderr)
        return 2
    last = hist.rows[-1]
    print(f"{len(hist.rows)} measurements, final train accuracy {last['train_accuracy']:.4f}, "
          f"test accuracy {last['test_accuracy']:.4f}; wrote {out / 'history.csv'} and {out / 'history.png'}")
    return 0
