"""The report of a validation: its rows, verdict, Markdown, JSON and CSV forms, and plot."""
from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .verdict import FAMILY_ALPHA, POWER, QUANTITIES, ValidationRow


@dataclass(frozen=True)
class ValidationReport:
    """Result of :func:`validate`: one row per quantity, condition and layer.

    ``alpha`` is the family-wise false-alarm rate, ``alpha_row`` the Sidak per-row
    level and ``t_critical`` the two-sided Student-t(n_seeds - 1) quantile at it.
    ``notes`` lists warnings (width below the validated range, few networks).

    Attributes
    ----------
    phi : str
        Name of the nonlinearity.
    sigma_w, sigma_b : float
        Weight and bias standard deviations of the simulated networks.
    width, depth : int
        N and D of the simulated networks.
    n_seeds : int
        Number of independent networks.
    n_points : int
        Samples of the input circle per network.
    rows : tuple of ValidationRow
        One test per quantity, condition and layer.
    alpha : float
        Family-wise false-alarm rate (``FAMILY_ALPHA``).
    alpha_row : float
        Sidak per-row level, 1 - (1 - alpha)^(1 / R).
    t_critical : float
        t*, the two-sided Student-t(n_seeds - 1) quantile at ``alpha_row``.
    theory_sigma_w : float or None
        The sigma_w the theory was evaluated at, when it differs from the simulation's.
    skipped : tuple of str
        Quantities or conditions left out, with the reason.
    notes : tuple of str
        Warnings.
    """

    phi: str
    sigma_w: float
    sigma_b: float
    width: int
    depth: int
    n_seeds: int
    n_points: int
    rows: tuple[ValidationRow, ...]
    alpha: float = FAMILY_ALPHA
    alpha_row: float = float("nan")
    t_critical: float = float("nan")
    theory_sigma_w: float | None = None
    skipped: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when no row rejects the theory."""
        return all(r.passed for r in self.rows)

    def failures(self) -> list[ValidationRow]:
        """The rows that reject the theory.

        Returns
        -------
        list of ValidationRow
            Rows with ``passed`` False, in report order.
        """
        return [r for r in self.rows if not r.passed]

    def select(self, quantity: str, condition: str | None = None) -> list[ValidationRow]:
        """Rows of one quantity (and condition), in layer order.

        Parameters
        ----------
        quantity : str
            One of "q", "c", "chi1", "g_E", "kappa2".
        condition : str, optional
            E.g. "q1=q*" or "c1=0.500"; None keeps every condition.

        Returns
        -------
        list of ValidationRow
            The matching rows (empty if none match).
        """
        return [r for r in self.rows
                if r.quantity == quantity and (condition is None or r.condition == condition)]

    def _title(self) -> str:
        theory = "" if self.theory_sigma_w is None else f" (theory at sigma_w = {self.theory_sigma_w:g})"
        return (f"phi = `{self.phi}`, sigma_w = {self.sigma_w:g}{theory}, sigma_b = {self.sigma_b:g}, "
                f"width {self.width}, depth {self.depth}, {self.n_seeds} networks x {self.n_points} points")

    def to_markdown(self) -> str:
        """The report as a Markdown table, preceded by the verdict and the test it used.

        Returns
        -------
        str
            Markdown text ending in a newline: verdict line, test description, warnings
            and skipped items, then one table row per :class:`ValidationRow`.
        """
        n_fail = len(self.failures())
        head = [(f"**{'PASS' if self.passed else 'FAIL'}**: {self._title()}; "
                 f"{len(self.rows) - n_fail}/{len(self.rows)} rows pass."),
                "",
                (f"Test: per row, z = max(0, |sim - theory| - b) / SE against the Student-t({self.n_seeds - 1}) "
                 f"quantile t* = {self.t_critical:.3g} at the Sidak level {self.alpha_row:.2g}, so that a right "
                 f"theory fails some row with probability <= {self.alpha:g} (family-wise). SE = standard error "
                 f"across networks; b = finite-width bias allowance; tolerance = b + t* SE; detectable = "
                 f"deviation caught with probability {POWER:g}. Errors are **relative** for q, chi1, g_E, "
                 f"kappa2 and **absolute** for c (kind column)."),
                ""]
        for note in self.notes:
            head += [f"_warning: {note}_", ""]
        for note in self.skipped:
            head += [f"_skipped: {note}_", ""]
        lines = head + [
            ("| quantity | condition | layer | theory | simulation | SE | kind | error | bias allowance "
             "| tolerance | detectable | z | passed |"),
            "|---|---|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|:---:|"]
        for r in self.rows:
            lines.append(f"| {r.quantity} | {r.condition} | {r.layer} | {r.theory:.5g} | {r.simulation:.5g} | "
                         f"{r.standard_error:.2g} | {'rel' if r.relative else 'abs'} | {r.error:.3g} | "
                         f"{r.bias_allowance:.2g} | {r.tolerance:.3g} | {r.detectable:.3g} | {r.z:.3g} | "
                         f"{'yes' if r.passed else '**no**'} |")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        """Plain data (JSON-ready): the settings, the verdict and every row.

        Returns
        -------
        dict
            The dataclass fields, plus ``passed``; ``rows`` is a list of dicts.
        """
        d = asdict(self)
        d["passed"] = self.passed
        d["rows"] = [asdict(r) for r in self.rows]
        d["skipped"], d["notes"] = list(self.skipped), list(self.notes)
        return d

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text.

        Returns
        -------
        str
            Indented JSON; non-finite floats (e.g. z = inf) become null, so the text is
            standard JSON.
        """
        def clean(v):
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v
        return json.dumps(clean(self.to_dict()), indent=1)

    def save(self, path) -> None:
        """Write :meth:`to_json` to ``path``.

        Parameters
        ----------
        path : str or os.PathLike
            Output file, overwritten.
        """
        with open(path, "w") as f:
            f.write(self.to_json() + "\n")

    def to_csv(self, path) -> None:
        """Write the rows as CSV (one header line; the settings are in :meth:`save`).

        Parameters
        ----------
        path : str or os.PathLike
            Output file, overwritten; one column per :class:`ValidationRow` field.
        """
        names = list(ValidationRow.__dataclass_fields__)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            for r in self.rows:
                w.writerow([getattr(r, n) for n in names])

    def plot(self):
        """Theory (lines) against simulation (points, error bars = t* SE), one panel per quantity.

        A 2 x 3 grid: q, c, chi1, g_E, kappa2 and a sixth panel with every row's
        z / t* (a row fails above 1).  Failed rows are circled in red.

        Returns
        -------
        matplotlib.figure.Figure
            The new figure.
        """
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D

        names = {"q": r"$q^l$ (rel. error)", "c": r"$c_{12}^l$ (abs. error)",
                 "chi1": r"$\chi_1$ growth into layer $l$ (rel.)", "g_E": r"$\bar g^{E,l}$ (rel.)",
                 "kappa2": r"$(\bar\kappa^l)^2$ (rel.)"}
        from matplotlib.ticker import MaxNLocator

        fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
        axes = axes.ravel()
        for a in axes:
            a.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax, qn in zip(axes, QUANTITIES):
            rows_q = self.select(qn)
            if not rows_q:
                import textwrap

                why = textwrap.shorten(self.skipped[0], 180) if self.skipped else ""
                ax.text(0.5, 0.5, textwrap.fill(f"skipped: {why}", 45), ha="center", va="center",
                        transform=ax.transAxes, fontsize=7)
                ax.set_title(names[qn])
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            conditions = list(dict.fromkeys(r.condition for r in rows_q))
            handles = []
            for i, cond in enumerate(conditions):
                rows = self.select(qn, cond)
                layer = np.array([r.layer for r in rows])
                color = f"C{i}"
                ax.plot(layer, [r.theory for r in rows], "-", color=color, lw=1.5)
                ax.errorbar(layer, [r.simulation for r in rows],
                            yerr=[self.t_critical * r.standard_error for r in rows], fmt="o", ms=3.5,
                            color=color, elinewidth=0.8, capsize=0)
                bad = [r for r in rows if not r.passed]
                if bad:
                    ax.plot([r.layer for r in bad], [r.simulation for r in bad], "o", ms=9, mfc="none",
                            mec="red", mew=1.5)
                if len(conditions) > 1:
                    handles.append(Line2D([], [], color=color, lw=1.5, label=cond))
            handles += [Line2D([], [], color="0.3", lw=1.5, label="theory"),
                        Line2D([], [], color="0.3", marker="o", ls="none", ms=4,
                               label=r"simulation $\pm t^*$SE")]
            if any(not r.passed for r in rows_q):
                handles.append(Line2D([], [], color="red", marker="o", mfc="none", ls="none", ms=8,
                                      label="failed row"))
            if qn in ("g_E", "kappa2"):
                ax.set_yscale("log")
            ax.set_xlabel("layer l")
            ax.set_title(names[qn])
            ax.legend(handles=handles, fontsize=7, frameon=False)
        ax = axes[5]
        for i, qn in enumerate(QUANTITIES):
            rows = self.select(qn)
            if rows:
                ax.plot([r.layer + 0.12 * (i - 2) for r in rows],
                        [min(r.z / self.t_critical, 3.0) for r in rows], "o", ms=3, color=f"C{i}", label=qn)
        ax.axhline(1.0, color="red", lw=1, ls="--", label="fails above")
        ax.set_xlabel("layer l")
        ax.set_ylabel(r"$z / t^*$ (clipped at 3)")
        ax.set_title(f"test statistic per row (family-wise $\\alpha$ = {self.alpha:g})")
        ax.legend(fontsize=7, frameon=False, ncol=2)
        verdict = "pass" if self.passed else f"FAIL ({len(self.failures())} rows)"
        fig.suptitle(self._title().replace("`", "") + f": {verdict}", fontsize=10)
        fig.tight_layout()
        return fig
