"""The one error base class of ``sim``.

Every error raised by ``sim`` on bad input or a failed computation derives from
:class:`SimError`, a ``ValueError`` so the command line reports it as one line.
"""


class SimError(ValueError):
    """Base class of the errors raised by ``sim``."""
