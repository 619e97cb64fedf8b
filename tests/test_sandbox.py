"""The sandbox (``--isolation process``) against hostile submissions (issue 4).

Each hostile submission is generated in ``tmp_path`` by the test itself and,
where it makes sense, mixes three layers in one module: a correct ``relu``, a genuinely buggy
``sigmoid`` (its backward forgets the ``(1 - s)`` factor) and a hostile ``tanh``. Every case
asserts the properties, not just "it didn't crash": bounded time, a schema-valid report, an
honest exit code, the real bug reported on its layer, the correct layer passing, no file
written outside the scratch space, and no process left behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gradcheck import check_submission, validate
from gradcheck.isolation import sandbox as sb
from gradcheck.isolation.untrusted import child as wire
from gradcheck.cli import main

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the sandbox needs Linux (/proc, namespaces)")

IS_ROOT = os.geteuid() == 0
LIMITS = {"call_timeout": 2.0, "load_timeout": 5.0, "total_timeout": 60.0}
LAYERS = ["relu", "sigmoid", "tanh"]

GOOD_RELU = '''
def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    return dout * (cache > 0)
'''
BUGGY_SIGMOID = '''
def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return s, s

def sigmoid_backward(dout, cache):
    return dout * cache          # bug: forgets the (1 - s) factor
'''
GOOD_TANH_BACKWARD = '''
def tanh_backward(dout, cache):
    return dout * (1 - cache ** 2)
'''


def _sleeper(marker: str) -> str:
    """Python source of a command line that sleeps and carries ``marker`` in its cmdline
    (``sleep`` adds up its arguments, and the marker is a tiny number)."""
    return f"['/bin/sleep', '300', '{marker}']"


def make(tmp_path: Path, tanh_forward: str, prelude: str = "", extra: dict | None = None,
         name: str = "sub") -> Path:
    """A submission folder: hostile prelude + correct relu + buggy sigmoid + hostile tanh."""
    d = tmp_path / name
    d.mkdir()
    src = ("import os, sys, signal, subprocess, time\nimport numpy as np\n"
           + textwrap.dedent(prelude) + GOOD_RELU + BUGGY_SIGMOID
           + textwrap.dedent(tanh_forward) + GOOD_TANH_BACKWARD)
    (d / "layers.py").write_text(src)
    for fname, content in (extra or {}).items():
        p = d / fname
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content))
    return d


def snapshot(*dirs: Path) -> dict[str, tuple[int, int]]:
    """Every file (not in __pycache__) under the given folders, with size and mtime."""
    out = {}
    for base in dirs:
        for root, dnames, fnames in os.walk(base):
            dnames[:] = [x for x in dnames if x not in ("__pycache__", ".pytest_cache")]
            for f in fnames:
                p = os.path.join(root, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                out[p] = (st.st_size, st.st_mtime_ns)
    return out


def survivors(marker: str) -> list[int]:
    """Live (non-zombie) processes whose command line carries ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read()
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmd and state not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def sandbox_scratch_dirs() -> set[str]:
    import tempfile

    base = tempfile.gettempdir()
    return {e for e in os.listdir(base) if e.startswith("gradcheck-sandbox-")}


@pytest.fixture
def marker() -> str:
    return "0.000" + str(uuid.uuid4().int)[:14]


_GUARD: dict = {}


def arm() -> None:
    """Take the 'before' snapshot now (after the test wrote its submission)."""
    if _GUARD.get("dirs") is not None and _GUARD.get("before") is None:
        _GUARD["before"] = snapshot(*_GUARD["dirs"])


@pytest.fixture
def guard(tmp_path, marker, monkeypatch):
    """Snapshot the folders that must stay untouched (armed by ``run``/``arm`` once the
    submission is written): tmp_path (the submission's parent) and the checker's working
    directory (a folder of its own, since other work may touch the repository meanwhile).
    After the test: unchanged, scratch dirs removed, no survivor."""
    cwd = tmp_path / "checker-cwd"
    cwd.mkdir()
    (cwd / "keep.txt").write_text("the checker's own file\n")
    monkeypatch.chdir(cwd)
    _GUARD.clear()
    _GUARD["dirs"] = (tmp_path, cwd)
    _GUARD["before"] = None
    scratch_before = sandbox_scratch_dirs()
    yield
    arm()
    before = _GUARD["before"]
    deadline = time.monotonic() + 2.0
    while survivors(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert survivors(marker) == [], "a process of the submission survived the run"
    after = snapshot(*_GUARD["dirs"])
    assert after == before, f"files changed outside the scratch space: " \
        f"{sorted(set(after.items()) ^ set(before.items()))[:5]}"
    assert sandbox_scratch_dirs() <= scratch_before, "the scratch directory was not removed"
    assert not Path(f"/tmp/{marker}.json").exists()
    assert not Path(f"/var/tmp/{marker}.json").exists()


def run(path: Path, layers=LAYERS, **limits):
    arm()
    t0 = time.monotonic()
    r = check_submission(path, profile="cs231n", layers=layers, isolation="process",
                         limits={**LIMITS, **limits})
    elapsed = time.monotonic() - t0
    validate(r.to_dict())
    return r, elapsed


def layer_text(r, layer_id: str) -> str:
    lr = r.layer(layer_id)
    return " | ".join(c.message for c in lr.checks)


def assert_honest(r, hostile_status=("fail", "error")):
    """The real bug is reported, the correct layer passes, the hostile one does not pass,
    and the exit code is not 0."""
    assert r.layer("relu").status == "pass", layer_text(r, "relu")
    assert r.layer("sigmoid").status == "fail", layer_text(r, "sigmoid")
    assert any(c.kind == "gradient" and c.status == "fail" for c in r.layer("sigmoid").checks)
    assert r.layer("tanh").status in hostile_status, layer_text(r, "tanh")
    assert r.exit_code == 1 and r.status in ("fail", "error")
    assert r.to_dict()["exit_code"] == 1


# ----------------------------------------------------------------------------- baseline
def test_correct_reference_passes_in_the_sandbox(guard):
    from gradcheck import reference_path

    for profile in ("cs231n", "dlfs"):
        r = check_submission(reference_path(profile), profile=profile, isolation="process")
        validate(r.to_dict())
        assert r.status == "pass" and r.exit_code == 0, [
            (lr.layer, lr.status) for lr in r.layers]


def test_mixed_submission_without_hostility(tmp_path, guard):
    d = make(tmp_path, "def tanh_forward(x):\n    t = np.tanh(x)\n    return t, t\n")
    r, elapsed = run(d)
    assert_honest(r, hostile_status=("pass",))
    assert elapsed < 30


# --------------------------------------------------------------------------- at import
@pytest.mark.parametrize("prelude, expect", [
    ("while True:\n    pass\n", "timed out after 2 s while importing layers"),
    ("sys.exit(0)\n", "SystemExit"),
    ("os._exit(0)\n", "exit status 0"),
    ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    try:\n        time.sleep(1)\n"
     "    except BaseException:\n        pass\n", "timed out after 2 s while importing layers"),
])
def test_hostile_at_import_is_a_load_error(tmp_path, guard, prelude, expect):
    d = make(tmp_path, "def tanh_forward(x):\n    return np.tanh(x), np.tanh(x)\n",
             prelude=prelude)
    r, elapsed = run(d, load_timeout=2.0)
    assert elapsed < 15
    assert r.status == "error" and r.exit_code == 2
    text = json.dumps(r.to_dict()["errors"])
    assert expect in text, text
    assert r.to_dict()["errors"][0].get("file") == "layers.py"


def test_import_failure_in_a_helper_module_keeps_the_layers(tmp_path, guard, marker):
    d = make(tmp_path, "def tanh_forward(x):\n    return np.tanh(x), np.tanh(x)\n",
             extra={"helper.py": "import os\nos._exit(3)\n"})
    r, elapsed = run(d)
    # the child died while importing helper.py: the load fails as a whole, honestly
    assert r.exit_code != 0
    assert "helper" in json.dumps(r.to_dict()["errors"])


# ---------------------------------------------------------------------- inside a layer
HOSTILE_LAYERS = {
    "sys_exit": ("def tanh_forward(x):\n    sys.exit(0)\n", "sys.exit"),
    "os_exit": ("def tanh_forward(x):\n    os._exit(0)\n", "exit status 0"),
    "infinite_loop": ("def tanh_forward(x):\n    while True:\n        pass\n",
                      "timed out after 2 s in tanh_forward"),
    "signals_ignored": ("""
        def tanh_forward(x):
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
                signal.signal(s, signal.SIG_IGN)
            while True:
                pass
        """, "timed out after 2 s in tanh_forward"),
    "swallow_base_exception": ("""
        def tanh_forward(x):
            signal.signal(signal.SIGTERM, lambda *a: None)
            while True:
                try:
                    while True:
                        time.sleep(0.01)
                except BaseException:
                    pass
        """, "timed out after 2 s in tanh_forward"),
    "memory_hog": ("""
        def tanh_forward(x):
            blocks = []
            while True:
                blocks.append(np.empty(50_000_000))
        """, "ran out of memory"),
    "recursion_bomb": ("""
        def tanh_forward(x):
            sys.setrecursionlimit(10 ** 8)
            def down(n):
                return down(n + 1) + 1
            return down(0)
        """, "tanh_forward"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_LAYERS))
def test_hostile_layer_is_an_error_and_the_rest_is_graded(tmp_path, guard, case):
    src, expect = HOSTILE_LAYERS[case]
    d = make(tmp_path, src)
    r, elapsed = run(d, memory_mb=1024)
    assert elapsed < 30
    assert_honest(r, hostile_status=("error",))
    assert expect in layer_text(r, "tanh"), layer_text(r, "tanh")


def test_hostile_layer_before_the_others_still_lets_them_run(tmp_path, guard):
    # the hostile layer is checked first (relu), the others after a restart of the child
    d = tmp_path / "sub"
    d.mkdir()
    (d / "layers.py").write_text("import os\nimport numpy as np\n"
                                 "def relu_forward(x):\n    os._exit(9)\n"
                                 "def relu_backward(dout, cache):\n    return dout\n"
                                 + BUGGY_SIGMOID + "def tanh_forward(x):\n"
                                 "    t = np.tanh(x)\n    return t, t\n" + GOOD_TANH_BACKWARD)
    r, _ = run(d)
    assert r.layer("relu").status == "error"
    assert "exit status 9" in layer_text(r, "relu")
    assert r.layer("sigmoid").status == "fail"
    assert r.layer("tanh").status == "pass"
    assert r.exit_code == 1


def test_total_time_budget_stops_remaining_calls(tmp_path, guard):
    d = tmp_path / "sub"
    d.mkdir()
    (d / "layers.py").write_text("import numpy as np\n"
                                 "def relu_forward(x):\n    while True:\n        pass\n"
                                 "def relu_backward(dout, cache):\n    return dout\n"
                                 "def tanh_forward(x):\n    while True:\n        pass\n"
                                 + GOOD_TANH_BACKWARD)
    r, elapsed = run(d, layers=["relu", "tanh"], call_timeout=2.0, total_timeout=3.0)
    assert elapsed < 12
    assert r.layer("relu").status == "error" and r.layer("tanh").status == "error"
    assert "budget" in layer_text(r, "tanh"), layer_text(r, "tanh")
    assert r.exit_code == 1


# ------------------------------------------------------------------ processes left behind
@pytest.mark.parametrize("mode", ["auto", "session"])
def test_detached_and_forked_processes_are_gone(tmp_path, guard, marker, mode):
    prelude = f"""
        # at import: a detached sleeper in its own session
        subprocess.Popen({_sleeper(marker)}, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        """
    tanh = f"""
        def tanh_forward(x):
            # a bounded fork spray: 20 sleepers, some detached, then a correct answer
            for i in range(20):
                subprocess.Popen({_sleeper(marker)}, start_new_session=(i % 2 == 0),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:          # double fork: a daemon
                    os.execv('/bin/sleep', {_sleeper(marker)})
                os._exit(0)
            t = np.tanh(x)
            return t, t
        """
    d = make(tmp_path, tanh, prelude=prelude)
    from gradcheck.isolation.sandbox import ProcessExecutor

    ex = ProcessExecutor(str(d), mode=mode, **LIMITS)
    arm()
    t0 = time.monotonic()
    r = check_submission(d, profile="cs231n", layers=["relu", "sigmoid", "tanh"],
                         executor=ex)
    assert time.monotonic() - t0 < 60
    validate(r.to_dict())
    assert ex.mode == ("session" if mode == "session" else ex.mode)
    # the spray runs in every call of tanh_forward; the RLIMIT_NPROC cap may refuse some
    # of them (an error on that layer is fine), but the other layers are graded
    assert r.layer("relu").status == "pass"
    assert r.layer("sigmoid").status == "fail"
    assert r.exit_code == 1
    assert survivors(marker) == []


# ------------------------------------------------------------------- lying and tampering
def test_monkeypatched_numpy_and_modules_cannot_fake_a_pass(tmp_path, guard):
    prelude = """
        import math, builtins
        always = lambda *a, **k: True
        nothing = lambda *a, **k: None
        for mod in list(sys.modules.values()):
            for attr, fake in (("allclose", always), ("isclose", always),
                               ("array_equal", always), ("array_equiv", always),
                               ("assert_allclose", nothing), ("assert_array_equal", nothing),
                               ("assert_array_almost_equal", nothing), ("norm", lambda *a, **k: 0.0)):
                try:
                    if hasattr(mod, attr):
                        setattr(mod, attr, fake)
                except Exception:
                    pass
        np.allclose = always
        np.testing.assert_allclose = nothing
        math.isclose = always
        sys.modules["gradcheck"] = type(sys)("gradcheck")
        """
    tanh = """
        def tanh_forward(x):
            return np.tanh(x) * 1.5, np.tanh(x)    # wrong, hoping for a patched comparison
        """
    d = make(tmp_path, tanh, prelude=prelude)
    r, _ = run(d)
    assert_honest(r, hostile_status=("fail",))


def test_lying_ndarray_subclass(tmp_path, guard):
    prelude = """
        class Liar(np.ndarray):
            def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
            def __ne__(self, other): return np.zeros(np.shape(other), dtype=bool)
            def __sub__(self, other): return np.zeros(np.shape(self))
            def __rsub__(self, other): return np.zeros(np.shape(self))
            def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                return np.zeros(np.broadcast(*[np.asarray(i) for i in inputs]).shape)
            def __array_function__(self, func, types, args, kwargs):
                return True
        """
    tanh = """
        def tanh_forward(x):
            wrong = np.asarray(x * 2.0).view(Liar)
            return wrong, np.tanh(x)
        """
    d = make(tmp_path, tanh, prelude=prelude)
    r, _ = run(d)
    assert_honest(r, hostile_status=("fail", "error"))


@pytest.mark.parametrize("value", ["None", "'a string'", "np.full(x.shape, np.nan)",
                                   "np.tanh(x).astype(np.float32)",
                                   "np.broadcast_to(np.float64(1.0), (200_000_000,))",
                                   "np.zeros(x.shape, dtype=object)",
                                   "np.zeros(x.shape, dtype=[('a', 'f8')])"])
def test_bad_return_values(tmp_path, guard, value):
    tanh = f"""
        def tanh_forward(x):
            return {value}, np.tanh(x)
        """
    d = make(tmp_path, tanh)
    r, elapsed = run(d)
    assert elapsed < 30
    assert_honest(r, hostile_status=("fail", "error"))


def test_malicious_reduce_in_the_cache_is_never_unpickled(tmp_path, guard):
    flag = tmp_path / "unpickled"
    prelude = f"""
        class Evil:
            def __init__(self, t):
                self.t = t
            def __reduce__(self):
                return (os.system, ("touch {flag}",))
        """
    tanh = """
        def tanh_forward(x):
            t = np.tanh(x)
            return t, Evil(t)
        def tanh_backward_impl(dout, cache):
            return dout * (1 - cache.t ** 2)
        """
    d = make(tmp_path, tanh, prelude=prelude)
    src = (d / "layers.py").read_text().replace(GOOD_TANH_BACKWARD, """
def tanh_backward(dout, cache):
    return tanh_backward_impl(dout, cache)
""")
    (d / "layers.py").write_text(src)
    r, _ = run(d)
    assert_honest(r, hostile_status=("pass",))
    assert not flag.exists()


def test_forged_output_and_report_files(tmp_path, guard, marker):
    forged = json.dumps({"schema_version": "1.0", "status": "pass", "exit_code": 0,
                         "layers": [], "errors": []})
    prelude = f"""
        FORGED = {forged!r}
        print(FORGED)
        os.write(1, (FORGED + "\\n").encode())
        def scribble():
            here = os.getcwd()
            for up in range(0, 12):
                d = os.path.normpath(os.path.join(here, *([".."] * up)))
                for name in ("report.json", "gradcheck-report.json", "{marker}.json"):
                    try:
                        with open(os.path.join(d, name), "w") as fh:
                            fh.write(FORGED)
                    except OSError:
                        pass
            for d in ("/tmp", "/var/tmp", "/dev/shm", os.environ.get("HOME", "/"),
                      {str(tmp_path)!r}, {str(Path.cwd())!r}):
                try:
                    with open(os.path.join(d, "{marker}.json"), "w") as fh:
                        fh.write(FORGED)
                except OSError:
                    pass
        scribble()
        """
    tanh = """
        def tanh_forward(x):
            scribble()
            print(FORGED)
            sys.stderr.write(FORGED)
            t = np.tanh(x)
            return t, t
        """
    d = make(tmp_path, tanh, prelude=prelude)
    before = snapshot(d)
    r, _ = run(d)
    assert_honest(r, hostile_status=("pass",))
    assert snapshot(d) == before
    assert FORGED_IN(r.output["stdout"])
    # the CLI prints exactly one JSON document: the real report
    res = CliRunner().invoke(main, ["run", str(d), "--isolation", "process", "--format",
                                    "json", "--timeout", "2", "--profile", "cs231n",
                                    "--layer", "relu", "--layer", "sigmoid",
                                    "--layer", "tanh"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    validate(doc)
    assert doc["status"] == "fail" and doc["exit_code"] == 1
    assert {lr["layer"]: lr["status"] for lr in doc["layers"]}["sigmoid"] == "fail"
    assert snapshot(d) == before


def FORGED_IN(text: str) -> bool:
    return '"status": "pass"' in text


# ----------------------------------------------------------------------------- the folder
def test_symlink_outside_the_folder_is_refused(tmp_path, guard):
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 'do-not-leak-4711'\n")
    d = make(tmp_path, "def tanh_forward(x):\n    return np.tanh(x), np.tanh(x)\n")
    (d / "secret.py").symlink_to(secret)
    r, _ = run(d)
    assert r.status == "error" and r.exit_code == 2
    text = json.dumps(r.to_dict())
    assert "outside the submission folder" in text and "do-not-leak-4711" not in text


def test_symlink_inside_the_folder_is_fine(tmp_path, guard):
    d = make(tmp_path, "def tanh_forward(x):\n    return np.tanh(x), np.tanh(x)\n")
    (d / "data").mkdir()
    (d / "data" / "weights.txt").write_text("1\n")
    (d / "weights.txt").symlink_to(d / "data" / "weights.txt")
    r, _ = run(d)
    assert_honest(r, hostile_status=("pass",))


def test_non_utf8_source(tmp_path, guard):
    d = make(tmp_path, "def tanh_forward(x):\n    return np.tanh(x), np.tanh(x)\n",
             extra={"broken.py": b"x = '\xff\xfe\xfa'\n"})
    e = tmp_path / "only"
    e.mkdir()
    (e / "layers.py").write_bytes(b"def relu_forward(x):\n    return '\xff', x\n")
    r, _ = run(d)
    assert r.layer("relu").status == "pass" and r.layer("sigmoid").status == "fail"
    assert r.exit_code == 1
    assert "broken" in json.dumps(r.to_dict())
    # and as the only module: a load error, exit 2
    r2, _ = run(e)
    assert r2.status == "error" and r2.exit_code == 2


# --------------------------------------------------------------------- what the child sees
@pytest.mark.skipif(not IS_ROOT, reason="privilege drop and network namespace need root")
def test_child_is_unprivileged_offline_and_cannot_import_gradcheck(tmp_path, guard):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.1)
    port = server.getsockname()[1]
    got = []

    def accept():
        end = time.monotonic() + 20
        while time.monotonic() < end and not got:
            try:
                got.append(server.accept())
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    prelude = f"""
        import socket
        print("UID", os.getuid(), "GID", os.getgid())
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=1)
            print("NETWORK OPEN")
        except OSError as exc:
            print("NETWORK BLOCKED", exc)
        try:
            import gradcheck.reference.cs231n
            print("GRADCHECK IMPORTED")
        except ImportError:
            print("GRADCHECK BLOCKED")
        print("VISIBLE PIDS", len([p for p in os.listdir("/proc") if p.isdigit()]))
        """
    d = make(tmp_path, "def tanh_forward(x):\n    return np.tanh(x), np.tanh(x)\n",
             prelude=prelude)
    r, _ = run(d)
    th.join(timeout=0.5)
    server.close()
    out = r.output["stdout"]
    assert "UID 65534 GID 65534" in out
    assert "NETWORK BLOCKED" in out and not got
    assert "GRADCHECK BLOCKED" in out
    assert_honest(r, hostile_status=("pass",))


# ------------------------------------------------------------------ the executor directly
def test_close_is_idempotent_and_removes_the_scratch(tmp_path):
    from gradcheck import reference_path
    from gradcheck.isolation.sandbox import ProcessExecutor

    ex = ProcessExecutor(reference_path("cs231n"), call_timeout=2)
    res = ex.load(["relu_forward", "relu_backward"])
    assert not res.errors and "relu_forward" in res.found
    scratch = ex._scratch
    assert scratch and os.path.isdir(scratch)
    pid = ex._proc.pid
    ex.close()
    ex.close()
    assert not os.path.exists(scratch)
    assert not os.path.exists(f"/proc/{pid}")


def test_output_is_capped(tmp_path, guard):
    tanh = """
        def tanh_forward(x):
            print("x" * 100_000)
            t = np.tanh(x)
            return t, t
        """
    d = make(tmp_path, tanh)
    arm()
    r = check_submission(d, profile="cs231n", layers=["tanh"], isolation="process",
                         limits={**LIMITS, "output_cap": 1000})
    out = r.output["stdout"]
    assert len(out) < 1200 and "more bytes not kept" in out


# ------------------------------------------------------------------ the parent's reader
def _npy(arr) -> bytes:
    return sb.encode_npy(arr)


def test_reader_refuses_a_huge_declared_length_before_allocating():
    header = wire.pack({"t": "result", "i": 0, "meta": {}}, [("out", b"")])
    # rewrite the array's declared length to 1.6 GB (200 million float64)
    forged = header[:-wire.ALEN.size] + wire.ALEN.pack(200_000_000 * 8)
    reader = sb.MessageReader()
    tracemalloc.start()
    reader.feed(forged)
    with pytest.raises(sb.ProtocolError, match="over the cap"):
        reader.next()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 << 20


def test_npy_decoder_refuses_lies():
    good = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(sb.decode_npy(_npy(good)), good)
    assert type(sb.decode_npy(_npy(good))) is np.ndarray
    # a header declaring 200 million elements over a tiny payload: refused, not allocated
    raw = _npy(np.zeros(3))
    lie = raw.replace(b"(3,)", b"(200000000,)".ljust(4))
    with pytest.raises(sb.ProtocolError):
        sb.decode_npy(lie)
    # object arrays (pickle) and structured dtypes are refused
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(sb.ProtocolError):
        sb.decode_npy(buf.getvalue())
    with pytest.raises(sb.ProtocolError):
        sb.decode_npy(_npy(np.zeros(2, dtype=[("a", "f8")])))
    with pytest.raises(sb.ProtocolError):
        sb.decode_npy(raw[:-8])          # truncated payload
    with pytest.raises(sb.ProtocolError):
        sb.decode_npy(b"not an array at all")


def test_reader_refuses_bad_framing():
    reader = sb.MessageReader()
    reader.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(sb.ProtocolError):
        reader.next()
    reader = sb.MessageReader()
    reader.feed(wire.HEAD.pack(wire.MAGIC, 5) + b"[1,2]")
    with pytest.raises(sb.ProtocolError):
        reader.next()


def test_meta_is_rebuilt_not_trusted():
    arrays = {"out": np.zeros((2, 2))}
    meta = {"values": {"out": {"type": "ndarray", "dtype": "float16", "shape": [9, 9]},
                       "x": {"type": "int", "shape": "evil"}},
            "error": {"phase": "forward", "where": "f", "type": "X", "message": "\udcff bad",
                      "fatal": "yes", "extra": object()},
            "something": "else"}
    clean = sb.clean_meta(meta, arrays)
    assert clean["values"]["out"] == {"type": "ndarray", "dtype": "float64", "shape": [2, 2]}
    assert "shape" not in clean["values"]["x"]
    assert "fatal" not in clean["error"] and "something" not in clean
    json.dumps(clean).encode("utf-8")


# --------------------------------------------------------------------- not root: nobody
def _blocked_for_nobody(path: str) -> tuple[str, str] | None:
    """The first directory above ``path`` that others cannot traverse, and the next name."""
    cur = "/"
    for part in [p for p in os.path.realpath(path).split("/") if p]:
        if not os.stat(cur).st_mode & 0o001:
            return cur, part
        cur = os.path.join(cur, part)
    return None


@pytest.mark.skipif(not IS_ROOT, reason="runs the checker itself as an unprivileged user")
@pytest.mark.parametrize("mode", ["auto", "session"])
def test_unprivileged_checker_still_cleans_up(tmp_path, marker, mode):
    """The checker run by a non-root user: user namespace (auto) or the session sweep."""
    import shutil

    repo = Path(__file__).resolve().parent.parent
    # the trick below exposes the one folder that blocks the interpreter's resolved path; a
    # virtual environment inside another untraversable folder (e.g. mktemp -d) is out of reach
    exposed = _blocked_for_nobody(sys.executable)
    unresolved = [str(p) for p in reversed(Path(sys.executable).parents)]
    blocked_venv = next((d for d in unresolved if not os.stat(d).st_mode & 0o001), None)
    if blocked_venv is not None and (exposed is None or exposed[0] != blocked_venv):
        pytest.skip(f"{blocked_venv} (holding the interpreter) is not traversable by nobody")
    if _blocked_for_nobody(str(repo)) or not shutil.which("unshare") or \
            not shutil.which("setpriv"):
        pytest.skip("needs unshare/setpriv and a repository readable by nobody")
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="gc-nobody-"))  # readable by nobody, unlike tmp_path
    os.chmod(work, 0o755)
    try:
        _run_as_nobody(work, marker, mode, repo)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_as_nobody(tmp_path: Path, marker: str, mode: str, repo: Path) -> None:
    prelude = f"""
        subprocess.Popen({_sleeper(marker)}, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("UID", os.getuid())
        """
    d = make(tmp_path, "def tanh_forward(x):\n    while True:\n        pass\n", prelude=prelude)
    subprocess.run(["chmod", "-R", "a+rX", str(d)], check=True)
    script = tmp_path / "as_nobody.py"
    script.write_text(textwrap.dedent(f"""
        import json
        from gradcheck import check_submission
        from gradcheck.isolation.sandbox import ProcessExecutor
        ex = ProcessExecutor({str(d)!r}, mode={mode!r}, **{LIMITS!r})
        r = check_submission({str(d)!r}, profile="cs231n",
                             layers=["relu", "sigmoid", "tanh"], executor=ex)
        print(json.dumps({{"exit": r.exit_code, "mode": ex.mode, "out": r.output["stdout"],
                          "layers": {{l.layer: l.status for l in r.layers}}}}))
        """))
    os.chmod(script, 0o644)
    # the installed gradcheck (a source tree on PYTHONPATH has no gradcheck.reference: the
    # reference folder is mapped under the package only when installed)
    drop = f"exec setpriv --reuid=65534 --regid=65534 --clear-groups env " \
           f"HOME=/ PATH=/usr/bin:/bin {sys.executable} {script}"
    blocked = _blocked_for_nobody(sys.executable)
    if blocked:  # e.g. /root/.pyenv: expose just that, in a private mount namespace
        top, name = blocked
        src = os.path.join(top, name)
        shell = (f"set -e; d=$(mktemp -d); mount --bind {src} $d; "
                 f"mount -t tmpfs -o mode=755 tmpfs {top}; mkdir {src}; "
                 f"mount --move $d {src}; cd /; {drop}")
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", shell]
    else:
        cmd = ["sh", "-c", f"cd /; {drop}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["layers"] == {"relu": "pass", "sigmoid": "fail", "tanh": "error"}
    assert res["exit"] == 1 and "UID 65534" in res["out"]
    assert res["mode"] == ("session" if mode == "session" else res["mode"])
    time.sleep(0.2)
    assert survivors(marker) == []


@pytest.mark.skipif(not IS_ROOT and not os.path.exists("/proc/self/ns/user"),
                    reason="hiding folders needs a mount namespace")
def test_reference_sources_cannot_be_read_by_path(tmp_path, guard):
    """Importing gradcheck is blocked; reading the reference's files by path must fail too,
    so a submission cannot delegate its buggy sigmoid to the reference implementation."""
    import gradcheck.reference.cs231n as ref

    layers_py = os.path.join(os.path.dirname(ref.__file__), "layers.py")
    prelude = f"""
        import importlib.util
        try:
            spec = importlib.util.spec_from_file_location("stolen", {layers_py!r})
            stolen = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(stolen)
            print("REFERENCE READ")
        except Exception as exc:
            stolen = None
            print("REFERENCE HIDDEN", type(exc).__name__)
        """
    # redefines the buggy sigmoid to delegate to the reference when it can be read
    hostile = textwrap.dedent("""
        _buggy_forward, _buggy_backward = sigmoid_forward, sigmoid_backward
        def sigmoid_forward(x):
            return (stolen.sigmoid_forward if stolen else _buggy_forward)(x)
        def sigmoid_backward(dout, cache):
            return (stolen.sigmoid_backward if stolen else _buggy_backward)(dout, cache)
        def tanh_forward(x):
            return np.tanh(x), np.tanh(x)
        """)
    d = make(tmp_path, hostile, prelude=prelude)
    r, _ = run(d)
    assert "REFERENCE HIDDEN" in r.output["stdout"], r.output
    assert_honest(r, hostile_status=("pass",))
