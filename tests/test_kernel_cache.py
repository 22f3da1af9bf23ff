"""The compiled-kernel cache: unwritable directories, pruning, concurrent writers, progress, `meanfield cache`.

References: file-system facts (what exists afterwards, what was removed), the number of
warnings, and Numba's own compile events (a cache hit raises none).
"""
import io
import os
import pathlib
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from meanfield import Nonlinearity, cli, kernels


@pytest.fixture
def fresh_fallback(monkeypatch):
    monkeypatch.setattr(kernels, "_fallback", {})


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_unwritable_cache_dir_falls_back_to_a_temporary_one_with_one_warning(tmp_path, monkeypatch,
                                                                             fresh_fallback, where):
    if where == "under_a_file":
        (tmp_path / "f").write_text("a file, not a directory")
        bad = tmp_path / "f" / "cache"
    else:
        bad = pathlib.Path("/proc/meanfield-cache")
    monkeypatch.setenv("MEANFIELD_CACHE_DIR", str(bad))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = kernels.cache_dir(), kernels.cache_dir()
    assert first == second and first.is_dir() and not str(first).startswith(str(bad))
    assert [w.category for w in caught] == [kernels.CacheDirWarning]
    assert str(bad) in str(caught[0].message) and "MEANFIELD_CACHE_DIR" in str(caught[0].message)
    probe = first / "probe.txt"
    probe.write_text("writable")                  # the fallback really is usable
    assert probe.read_text() == "writable"


def test_writable_cache_dir_is_used_as_configured(tmp_path, monkeypatch, fresh_fallback):
    monkeypatch.setenv("MEANFIELD_CACHE_DIR", str(tmp_path / "c"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kernels.cache_dir() == tmp_path / "c" / "kernels"


def _touch(path: pathlib.Path, age_s: float = 0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# kernel")
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def test_prune_removes_old_versions_and_crashed_temporaries_only(tmp_path):
    d, week = tmp_path, 8 * 86400
    cur = kernels._TEMPLATE_HASH
    keep = [_touch(d / f"nl_aaaa_{cur}.py", week),
            _touch(d / "__pycache__" / f"nl_aaaa_{cur}.expect1-5.py311.nbi", week),
            _touch(d / "nl_bbbb_0123456789.py"),                 # another version, but in use today
            _touch(d / ".nl_cccc_x1y2.tmp"),                     # being written now
            _touch(d / "notes.txt", week)]                       # not ours
    gone = [_touch(d / "nl_dddd_0123456789.py", week),
            _touch(d / "__pycache__" / "nl_dddd_0123456789.expect1-5.py311.nbi", week),
            _touch(d / "__pycache__" / "nl_dddd_0123456789.cpython-311.pyc", week),
            _touch(d / ".nl_eeee_z9.tmp", 2 * 3600)]
    assert kernels.prune_cache(d) == len(gone)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in gone)


def test_writing_a_new_module_prunes(tmp_path, monkeypatch, fresh_fallback):
    monkeypatch.setenv("MEANFIELD_CACHE_DIR", str(tmp_path))
    old = _touch(tmp_path / "kernels" / "nl_ffff_0123456789.py", 30 * 86400)
    module = kernels._load("0000feedbeef0000", "VALUE = 42\n", "test phi")
    assert module.VALUE == 42 and not old.exists()
    assert (tmp_path / "kernels" / f"nl_0000feedbeef0000_{kernels._TEMPLATE_HASH}.py").read_text() == "VALUE = 42\n"
    assert not list((tmp_path / "kernels").glob(".nl_*.tmp"))
    del sys.modules[f"meanfield_kernels_0000feedbeef0000_{kernels._TEMPLATE_HASH}"]


def test_cache_command_info_and_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEANFIELD_CACHE_DIR", str(tmp_path))
    files = [_touch(tmp_path / "kernels" / f"nl_abcd_{kernels._TEMPLATE_HASH}.py"),
             _touch(tmp_path / "kernels" / "nl_abcd_0123456789.py"),
             _touch(tmp_path / "kernels" / "__pycache__" / f"nl_abcd_{kernels._TEMPLATE_HASH}.f-1.py311.nbc")]
    assert cli.main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "kernels") in out and "1 of older versions, 3 files" in out
    assert "1 compiled modules" in out and "machinery not compiled yet (meanfield cache build)" in out
    assert cli.main(["cache", "clear"]) == 0
    assert "removed 3 files" in capsys.readouterr().out and not any(p.exists() for p in files)


_TINY = textwrap.dedent("""
    from numba import njit

    @njit(cache=True)
    def double(x):
        return 2.0 * x
""")


def test_compile_progress_reports_each_compilation_once(tmp_path, monkeypatch, fresh_fallback):
    """A phi's callbacks report their compilation once, in one line; the machinery's kernels report theirs
    as compiled once per installation (a stand-in machinery module here, in a temporary cache)."""
    monkeypatch.setenv("MEANFIELD_CACHE_DIR", str(tmp_path))
    stream = io.StringIO()
    listener = kernels.enable_compile_progress(stream)
    names = [f"meanfield_kernels_00000000c0ffee00_{kernels._TEMPLATE_HASH}",
             f"meanfield_kernels_{kernels.MACHINERY}_{kernels._TEMPLATE_HASH}"]
    saved = sys.modules.pop(names[1], None)
    try:
        phi = kernels._load("00000000c0ffee00", kernels.module_source(Nonlinearity("2*x")), "2*x (test)")
        assert phi.PHI.n_kinks == 0 and phi.phi.ctypes(3.0) == 6.0
        module = kernels._load(kernels.MACHINERY, _TINY, "stand-in machinery")
        assert module.double(3.0) == 6.0
        assert module.double(4.0) == 8.0          # compiled already: no second report
    finally:
        kernels.disable_compile_progress(listener)
        for name in names:
            sys.modules.pop(name, None)
        if saved is not None:
            sys.modules[names[1]] = saved
    text = stream.getvalue()
    assert text.count("compiled phi = 2*x (test) and its derivatives (first use, cached afterwards) in ") == 1
    assert text.count("compiling the quadrature machinery (double; once per installation, shared by every "
                      "phi) ...") == 1
    assert text.count(" done in ") == 1 and text.endswith(" s\n")


def _python(code, env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def test_no_progress_line_when_loading_from_the_disk_cache(tmp_path):
    """Two processes on one cache directory: the first compiles phi (and says so), the second loads silently."""
    env = dict(os.environ, MEANFIELD_CACHE_DIR=str(tmp_path))
    code = textwrap.dedent("""
        from meanfield import Nonlinearity, kernels
        kernels.enable_compile_progress()
        m = kernels._load("00000000c0ffee01", kernels.module_source(Nonlinearity("2*x")), "tiny")
        assert m.phi.ctypes(1.5) == 3.0
    """)
    first, second = _python(code, env), _python(code, env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "compiled phi = tiny" in first.stderr
    assert "compil" not in second.stderr


@pytest.mark.slow
def test_concurrent_processes_compiling_the_same_phi_share_one_sound_cache(tmp_path):
    """Three processes compile tanh's kernels into one empty cache at once; all get the right value, the
    cache holds one complete module and no temporaries, and a fourth process loads without compiling."""
    env = dict(os.environ, MEANFIELD_CACHE_DIR=str(tmp_path), NUMBA_NUM_THREADS="1")
    # E[tanh(sqrt(q) z)^2] at q = 0 is 0 and at small q equals q - 2q^2 + O(q^3); checked at q = 1e-4
    code = textwrap.dedent("""
        import sys
        from meanfield import kernels, quadrature, Nonlinearity
        from meanfield.codes import Kind
        kernels.enable_compile_progress()
        v = quadrature.gauss_expect(Nonlinearity("tanh"), Kind.PHI2, 1e-4)
        q = 1e-4
        assert abs(v - (q - 2 * q ** 2 + 17 * q ** 3 / 3)) < 1e-14, v
        print("ok")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(3)]
    results = [p.communicate(timeout=900) + (p.returncode,) for p in procs]
    for out, err, rc in results:
        assert rc == 0 and out.strip() == "ok", err
    d = tmp_path / "kernels"
    # one module of tanh's phi and one of the machinery, both complete
    modules = sorted(d.glob("nl_*.py"), key=lambda p: "machinery" in p.name)
    assert len(modules) == 2 and not list(d.glob(".nl_*.tmp"))
    assert modules[0].read_text() == kernels.module_source(Nonlinearity("tanh"))
    assert modules[1].read_text() == kernels.machinery_source() and modules[1].read_text().endswith(kernels._TEMPLATE)
    again = _python(code, env)
    assert again.returncode == 0 and "compiling" not in again.stderr


@pytest.mark.slow
def test_point_works_with_an_unwritable_home(tmp_path):
    """$HOME cannot be written (and no MEANFIELD_CACHE_DIR): one warning line, and the answer."""
    env = {k: v for k, v in os.environ.items() if k not in ("MEANFIELD_CACHE_DIR", "MPLCONFIGDIR")}
    env["HOME"] = "/proc/meanfield-no-home"
    env.pop("XDG_CONFIG_HOME", None)
    # tanh: a phi that needs compiled kernels (erf now runs on its closed form and compiles nothing)
    r = subprocess.run([sys.executable, "-m", "meanfield", "point", "tanh", "--sigma-w", "1.5", "--sigma-b", "0.3"],
                       capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "warning" in lines[0] and "not writable" in lines[0], r.stderr


def test_cache_build_compiles_every_entry_point_so_that_a_new_phi_compiles_only_its_callbacks(capsys):
    """After ``meanfield cache build`` (in the default cache, shared with the rest of the suite), the
    public computations of a phi never seen before, smooth or kinked, compile nothing in the
    machinery: the build called every kernel Python calls with its callers' argument types."""
    import numba.core.event as event

    import meanfield as mf
    from meanfield.kernels import warmup

    report = warmup.build(processes=1)          # in this process (compiles, or loads what is cached)
    assert report.entry_points == len(warmup.ENTRY_POINTS) == 14 and kernels.machinery_built()
    assert cli.main(["cache", "build"]) == 0
    assert "already compiled" in capsys.readouterr().out

    compiled = []

    class Record(event.Listener):
        def on_start(self, ev):
            compiled.append(getattr(ev.data["dispatcher"], "__name__", "?"))

        def on_end(self, ev):
            pass

    listener = Record()
    event.register("numba:compile", listener)
    try:
        for spec, sw in (("tanh(x) + sin(x)/5", 1.6), ("Max(0, x) + tanh(x)/4", 1.2)):   # smooth; kink at 0
            m = mf.MeanField(spec, sw, 0.3)
            m.q_star(), m.chi1(), m.c_star(), m.chi_c(0.4), m.correlation_map(0.3), m.length_map(2.0)
            m.fixed_points(), m.convergence_depth()
            mf.phase_diagram(spec, [0.8, sw, 2.4], [0.0, 0.3])
            mf.phase_diagram(spec, [sw], [0.3], rtol=1e-13)
            mf.critical_points(spec, 0.2)
    finally:
        event.unregister("numba:compile", listener)
    assert compiled == []


def test_a_phi_with_more_kinks_than_the_kernels_take_is_a_clear_error():
    """The kinks travel in a fixed-size tuple (one type for every phi): 17 pieces are refused with the
    limit named, and an error at the boundary, not inside Numba."""
    import meanfield as mf
    from meanfield.codes import MAX_KINKS
    pieces = ", ".join(f"({k}*x/40, x < {k})" for k in range(-8, 9))
    with pytest.raises(mf.MeanFieldError, match=f"17 kinks .* at most {MAX_KINKS}"):
        mf.MeanField(f"Piecewise({pieces}, (x, True))", 1.0, 0.1, closed_form=False).q_star()
