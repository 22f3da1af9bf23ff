"""One sweep-store folder per test session, shared by test_experiments and the experiment notebooks.

The sweep engine skips tasks already in a store, so a quick mode that test_experiments.py ran is only read back
when its notebook runs it again in the same session (same parameters, same keys): CI pays for each quick mode once.
"""
import atexit
import os
import shutil
import tempfile

ENV = "MEANFIELD_EXPERIMENT_STORE"
_DIR = []


def store_dir() -> str:
    if not _DIR:
        _DIR.append(tempfile.mkdtemp(prefix="meanfield-quick-"))
        atexit.register(shutil.rmtree, _DIR[0], ignore_errors=True)
        os.environ[ENV] = _DIR[0]
    return _DIR[0]
