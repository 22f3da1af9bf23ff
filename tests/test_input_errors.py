"""Bad input at API boundaries: a typed, one-line error naming the problem and the fix.

References: the functions' stated domains (e.g. 0 < qmin < qmax for a table in ln q).
"""
import math

import pytest

import meanfield as mf
from meanfield.errors import MeanFieldError
from meanfield.kernels import kernels_for
from meanfield.kernels.tables import build_table


@pytest.mark.parametrize("qmin, qmax, word", [
    (0.0, 10.0, "qmin"), (-1.0, 10.0, "qmin"), (math.nan, 10.0, "qmin"),
    (10.0, 10.0, "qmin < qmax"), (100.0, 10.0, "qmin < qmax"), (1.0, math.inf, "qmax"),
])
def test_build_table_checks_its_range(qmin, qmax, word):
    K = kernels_for(mf.Nonlinearity("erf"))
    with pytest.raises(MeanFieldError, match=word) as info:
        build_table(K, qmin, qmax)
    assert "\n" not in str(info.value)
