"""Option values shared by the sim subcommands; a bad value raises a one-line ValueError naming the option."""
from __future__ import annotations


def parse_floats(text: str, n: int, name: str) -> tuple:
    """n comma-separated numbers, e.g. a box s_min,s_max,t_min,t_max.

    Parameters
    ----------
    text : str
        The option's value as typed.
    n : int
        How many numbers are expected.
    name : str
        The option, e.g. "--box", named in the error message.

    Returns
    -------
    tuple of float
        The n numbers, in order.

    Raises
    ------
    ValueError
        If an entry is not a number or there are not exactly n of them.
    """
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{name} must be {n} comma-separated numbers, got {text!r}") from None
    if len(vals) != n:
        raise ValueError(f"{name} must be {n} comma-separated numbers, got {text!r}")
    return vals


def parse_widths(text: str) -> list:
    """Comma-separated positive layer widths such as 32,32,32 (the ``--widths`` option).

    Parameters
    ----------
    text : str
        The option's value as typed.

    Returns
    -------
    list of int
        The widths, in order.

    Raises
    ------
    ValueError
        If an entry is not an integer or is < 1.
    """
    try:
        widths = [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"--widths must be comma-separated integers such as 32,32,32, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise ValueError(f"--widths must be positive integers, got {text!r}")
    return widths
