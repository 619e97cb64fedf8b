"""Red-team tests of the process sandbox (issue 4), written from the outside.

Every test builds a hostile submission that combines one attack with one genuinely buggy layer
(``sigmoid_backward`` without the ``(1 - s)`` factor) and one correct layer (``relu``), runs it
through the CLI or ``check_submission(isolation="process")`` and asserts the properties the
sandbox promises: bounded time, an honest exit code (never 0 while the bug is present) with the
bug reported on ``sigmoid``, exactly one schema-valid JSON document on stdout, nothing left
behind (files, processes), no reach outside (network, reference).

Attacks that currently succeed are kept as ``xfail(strict=True)`` with the weakness as reason.
"""

from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from gradcheck import check_submission, validate

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux sandbox"),
]

CORE = '''
import numpy as np

def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    return dout * (cache > 0)

def sigmoid_forward(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return s, s

def sigmoid_backward(dout, cache):
    s = cache
    return dout * s          # BUG: the (1 - s) factor is missing
'''

import gradcheck as _gc  # noqa: E402
import gradcheck.reference as _gc_ref  # noqa: E402

#: where the checker and its reference live (what an attacker would guess or search for)
HIDDEN = sorted({os.path.dirname(os.path.abspath(_gc.__file__)),
                 os.path.dirname(os.path.abspath(_gc_ref.__file__))})
KNOWN_ROOTS = sorted({os.path.dirname(h) for h in HIDDEN})

LIMITS = {"call_timeout": 2.0, "load_timeout": 5.0, "total_timeout": 60.0}
LAYERS = ["relu", "sigmoid"]
WATCH_DIRS = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", os.path.expanduser("~"), os.getcwd()]


def _marker() -> str:
    return "RTMARK" + uuid.uuid4().hex[:12]


def make_sub(tmp_path, attack: str, marker: str, *, extra: dict | None = None,
             core: str = CORE, name: str = "sub") -> str:
    folder = tmp_path / name
    folder.mkdir()
    code = f"MARKER = {marker!r}\n" + textwrap.dedent(attack) + "\n" + core
    (folder / "layers.py").write_text(code)
    for fname, text in (extra or {}).items():
        p = folder / fname
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return str(folder)


def _procs_with(marker: str) -> list[int]:
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/cmdline", "rb") as fh:
                if marker.encode() in fh.read():
                    out.append(int(e))
        except OSError:
            pass
    return out


def _files_with(marker: str) -> list[str]:
    hits = []
    for d in WATCH_DIRS:
        for root, dirs, files in os.walk(d):
            depth = root[len(d):].count(os.sep)
            if depth >= 3:
                dirs[:] = []
            for n in dirs + files:
                if marker in n:
                    hits.append(os.path.join(root, n))
    return hits


def _sandbox_dirs() -> set[str]:
    import tempfile

    return set(glob.glob(os.path.join(tempfile.gettempdir(), "gradcheck-sandbox-*")))


def assert_clean(marker: str, before_dirs: set[str]) -> None:
    deadline = time.monotonic() + 3
    while _procs_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = _procs_with(marker)
    for pid in survivors:  # never leave our own mess on the machine
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    assert not survivors, f"processes left behind: {survivors}"
    left = _files_with(marker)
    assert not left, f"files left behind: {left}"
    # our own scratch dirs are gone (other tests may run concurrently: only count growth
    # of dirs that mention the marker's submission)
    new = [d for d in _sandbox_dirs() - before_dirs if os.path.exists(d)]
    mine = [d for d in new if any(marker in open(f, errors="replace").read()
                                  for f in glob.glob(os.path.join(d, "submission", "*", "*.py"))
                                  if os.path.isfile(f))]
    assert not mine, f"scratch dirs left behind: {mine}"


def run_cli(path: str, timeout: float = 90.0, *extra: str):
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gradcheck.cli", "run", path, "--format", "json",
         "--profile", "cs231n", "--timeout", "2", *extra],
        capture_output=True, timeout=timeout, cwd=os.path.dirname(path))
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), \
        proc.stderr.decode("utf-8", "replace"), time.monotonic() - t0


def one_json(stdout: str) -> dict:
    doc = json.loads(stdout)  # exactly one document: json.loads refuses trailing data
    validate(doc)
    return doc


def statuses(doc: dict) -> dict[str, str]:
    return {lr["layer"]: lr["status"] for lr in doc["layers"]}


def api(path: str, layers=LAYERS, **limits):
    t0 = time.monotonic()
    rep = check_submission(path, profile="cs231n", layers=layers, isolation="process",
                           limits={**LIMITS, **limits}, counterexample=False)
    return rep, time.monotonic() - t0


def assert_honest_api(rep, elapsed: float, *, limit: float = 45.0) -> dict:
    assert elapsed < limit, f"took {elapsed:.1f} s"
    doc = rep.to_dict()
    validate(doc)
    json.loads(json.dumps(doc, allow_nan=False))
    assert doc["exit_code"] in (1, 2), doc["status"]
    if doc["exit_code"] == 1:
        st = statuses(doc)
        assert st.get("sigmoid") == "fail", st
    return doc


def assert_honest_cli(rc: int, out: str, err: str, elapsed: float, *, limit: float = 60.0):
    assert elapsed < limit
    assert rc in (1, 2), (rc, err[-2000:])
    doc = one_json(out)
    assert doc["exit_code"] == rc
    if rc == 1:
        assert statuses(doc).get("sigmoid") == "fail", statuses(doc)
    return doc


# ----------------------------------------------------------------------------------------
# Attacks that succeeded before the fixes (were strict xfails; now must stay contained)
# ----------------------------------------------------------------------------------------

FORGE_HELPERS = '''
import os as _os, sys as _sys, json as _json, struct as _struct
def _rep_fd():
    try:
        return _json.loads(_sys.argv[1])["rep_fd"]   # the worker's config was in its argv
    except Exception:
        pass
    import fcntl as _fcntl
    for _e in sorted(_os.listdir("/proc/self/fd"), key=int):  # else: its write-only pipe
        try:
            _fd = int(_e)
            if _fd > 2 and _os.readlink(f"/proc/self/fd/{_fd}").startswith("pipe:") and \
                    _fcntl.fcntl(_fd, _fcntl.F_GETFL) & _os.O_ACCMODE == _os.O_WRONLY:
                return _fd
        except OSError:
            pass
    raise RuntimeError("no reply pipe found")
def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[_os.write(fd, view):]
def _forge(body):
    _write_all(_rep_fd(), _struct.pack("!4sI", b"GCSB", len(body)) + body)
'''


def test_forged_deeply_nested_load_reply_crashes_parent(tmp_path):
    marker = _marker()
    attack = FORGE_HELPERS + '''
_forge(b"[" * 200000)
_os._exit(0)
'''
    before = _sandbox_dirs()
    rc, out, err, el = run_cli(make_sub(tmp_path, attack, marker))
    try:
        assert "Traceback" not in err, err[-1500:]
        assert_honest_cli(rc, out, err, el)
    finally:
        assert_clean(marker, before)


def test_forged_loaded_message_with_bad_types_crashes_parent(tmp_path):
    marker = _marker()
    attack = FORGE_HELPERS + '''
_forge(_json.dumps({"t": "loaded", "modules": 5, "errors": [], "found": {}, "arrays": []}).encode())
_os._exit(0)
'''
    rc, out, err, el = run_cli(make_sub(tmp_path, attack, marker))
    assert "Traceback" not in err, err[-1500:]
    assert_honest_cli(rc, out, err, el)


def test_nested_json_reply_mid_call_poisons_later_layers(tmp_path):
    marker = _marker()
    attack = FORGE_HELPERS + '''
def affine_forward(x, w, b):
    _forge(b"[" * 200000)
    import time
    time.sleep(30)

def affine_backward(dout, cache):
    return None
'''
    path = make_sub(tmp_path, attack, marker)
    rep, el = api(path, layers=["affine", "relu", "sigmoid"])
    doc = assert_honest_api(rep, el)
    st = statuses(doc)
    assert st["relu"] == "pass" and st["sigmoid"] == "fail", st


def test_delegation_to_a_readable_copy_of_the_reference(tmp_path):
    marker = _marker()
    attack = '''
import os, sys, json, glob, zlib, numpy as _np

def _candidates():
    try:
        cfg = json.loads(sys.argv[1])     # the worker's config was in its argv
    except Exception:
        cfg = {}
    roots = {os.path.dirname(h) for h in cfg.get("hide", [])} | set(KNOWN_ROOTS)
    for root in sorted(roots):
        for p in glob.glob(os.path.join(root, "**", "layers.py"), recursive=True):
            try:
                yield open(p, encoding="utf-8", errors="replace").read()
            except OSError:
                pass
        for p in glob.glob(os.path.join(root, ".git", "objects", "??", "*")):
            try:
                data = zlib.decompress(open(p, "rb").read())
            except Exception:
                continue
            if data.startswith(b"blob") and b"def sigmoid_backward" in data:
                yield data.split(b"\\0", 1)[1].decode("utf-8", "replace")

def _works(fwd, bwd):
    x = _np.random.randn(4, 5)
    dout = _np.random.randn(4, 5)
    s, cache = fwd(x)
    dx = bwd(dout, cache)
    num = (fwd(x + 1e-6)[0] - fwd(x - 1e-6)[0]) / 2e-6 * dout
    return _np.allclose(dx, num, atol=1e-6)

_STOLEN = None
for _src in _candidates():
    ns = {}
    try:
        exec(compile(_src, "<stolen>", "exec"), ns)
        if _works(ns["sigmoid_forward"], ns["sigmoid_backward"]):
            _STOLEN = ns
            break
    except Exception:
        continue
'''
    core = CORE + '''
if _STOLEN is not None:     # the buggy function above is replaced by the stolen one
    sigmoid_forward = _STOLEN["sigmoid_forward"]
    sigmoid_backward = _STOLEN["sigmoid_backward"]
'''
    # the attacker also knows (guesses) where the checker's checkout is
    attack = f"KNOWN_ROOTS = {sorted(KNOWN_ROOTS)!r}\n" + attack
    rep, el = api(make_sub(tmp_path, attack, marker, core=core))
    assert_honest_api(rep, el)


def test_file_left_in_run_lock(tmp_path):
    marker = _marker()
    attack = '''
import os
for d in ("/run/lock", "/var/lock"):
    try:
        with open(os.path.join(d, MARKER + ".txt"), "w") as fh:
            fh.write("left behind")
    except OSError:
        pass
'''
    before = _sandbox_dirs()
    try:
        rep, el = api(make_sub(tmp_path, attack, marker))
        assert_honest_api(rep, el)
        assert_clean(marker, before)
    finally:
        for p in glob.glob(f"/run/lock/{marker}*"):
            os.unlink(p)


def _sysv_keys() -> set[int]:
    keys = set()
    try:
        with open("/proc/sysvipc/shm") as fh:
            for line in fh.readlines()[1:]:
                keys.add(int(line.split()[0]))
    except OSError:
        pass
    return keys


def test_sysv_shared_memory_survives(tmp_path):
    marker = _marker()
    key = int(uuid.uuid4().hex[:7], 16) | 0x10000000
    attack = f'''
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmget.restype = ctypes.c_int
_libc.shmget(ctypes.c_int({key}), ctypes.c_size_t(4096), ctypes.c_int(0o1000 | 0o666))
'''
    try:
        rep, el = api(make_sub(tmp_path, attack, marker))
        assert_honest_api(rep, el)
        assert key not in _sysv_keys(), "shared memory segment left behind"
    finally:
        subprocess.run(["ipcrm", "-M", str(key)], capture_output=True)


def test_memory_limit_is_per_process_not_per_submission(tmp_path):
    marker = _marker()
    # four processes of 150 MiB each against a 256 MiB limit (bounded: 600 MiB in all)
    attack = '''
import os, sys, subprocess
_kids = [subprocess.Popen([sys.executable, "-S", "-c",
          "import time; b = bytearray(150 << 20); time.sleep(4)", MARKER])
         for _ in range(4)]
'''
    peak = {"rss": 0}
    stop = threading.Event()

    def watch():
        # proportional set size: shared pages (the interpreter, libraries) split between the
        # processes that map them, as a cgroup charges them; summing VmRSS counts them 4 times
        while not stop.is_set():
            total = 0
            for pid in _procs_with(marker):
                for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"),
                                  (f"/proc/{pid}/status", "VmRSS:")):
                    try:
                        with open(path) as fh:
                            kb = [int(ln.split()[1]) for ln in fh if ln.startswith(key)]
                    except OSError:
                        continue
                    if kb:
                        total += kb[0] * 1024
                        break
            peak["rss"] = max(peak["rss"], total)
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    before = _sandbox_dirs()
    try:
        rep, el = api(make_sub(tmp_path, attack, marker), memory_mb=256, load_timeout=10.0)
    finally:
        time.sleep(0.3)
        stop.set()
        t.join()
    assert_honest_api(rep, el)
    assert_clean(marker, before)
    assert peak["rss"] <= 256 << 20, f"submission held {peak['rss'] >> 20} MiB in all"


def test_deeply_nested_folder_crashes_parent(tmp_path):
    marker = _marker()
    path = make_sub(tmp_path, "", marker)
    fd = os.open(path, os.O_RDONLY)
    for _ in range(1100):           # os.makedirs itself recurses: build it level by level
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(fd)
    before = _sandbox_dirs()
    try:
        rc, out, err, el = run_cli(path)
        new = _sandbox_dirs() - before
        assert "Traceback" not in err, err[-800:]
        assert_honest_cli(rc, out, err, el)
        assert not [d for d in new if os.path.exists(d)], "scratch dir left behind"
    finally:
        subprocess.run(["rm", "-rf", os.path.join(path, "d")])
        for d in _sandbox_dirs() - before:
            if glob.glob(os.path.join(d, "submission", "sub")):
                subprocess.run(["rm", "-rf", d])


PARENT_RSS = ("import atexit, resource, sys; atexit.register(lambda: sys.stderr.write("
              "'PARENT-MAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)); "
              "from gradcheck.cli import main; sys.argv[0] = 'gradcheck'; main()")


def test_parent_memory_amplification_by_a_capped_reply(tmp_path):
    marker = _marker()
    attack = FORGE_HELPERS + '''
import io, time, numpy as _np
def tanh_forward(x):
    buf = io.BytesIO()
    _np.lib.format.write_array(buf, _np.zeros(20_000_000))
    data = buf.getvalue()
    names = ["out", "a", "b"]
    body = _json.dumps({"t": "result", "i": 0, "meta": {"values": {}, "error": None},
                        "arrays": names}).encode()
    _write_all(_rep_fd(), _struct.pack("!4sI", b"GCSB", len(body)) + body)
    for _ in names:
        _write_all(_rep_fd(), _struct.pack("!Q", len(data)))
        _write_all(_rep_fd(), data)
    time.sleep(100)
def tanh_backward(dout, cache):
    return dout
'''
    path = make_sub(tmp_path, attack, marker)
    t0 = time.monotonic()
    # cwd outside the repository: `python -c` puts the cwd first on sys.path, and a source
    # tree there would shadow the installed package
    proc = subprocess.run([sys.executable, "-c", PARENT_RSS, "run", path, "--format", "json",
                           "--profile", "cs231n", "--timeout", "2", "--layer", "tanh",
                           "--layer", "sigmoid"], capture_output=True, timeout=90,
                          cwd=os.path.dirname(path))
    err = proc.stderr.decode("utf-8", "replace")
    assert_honest_cli(proc.returncode, proc.stdout.decode(), err, time.monotonic() - t0)
    peak_kib = int(err.rsplit("PARENT-MAXRSS", 1)[1].split()[0])
    assert peak_kib < 700 * 1024, f"the checker's own peak RSS was {peak_kib >> 10} MiB"


# ----------------------------------------------------------------------------------------
# Contained attacks: these must keep passing
# ----------------------------------------------------------------------------------------

CONTAINED = {
    "kill_parent_and_groups": '''
import os, signal
for target in (os.getppid(), 0, -1, 1):
    try:
        os.kill(target, signal.SIGKILL if target not in (0, -1) else signal.SIGTERM)
    except (OSError, ProcessLookupError):
        pass
''',
    "closerange_and_dup2_in_a_layer": '''
import os
def tanh_forward(x):
    fd = os.open("/dev/null", os.O_WRONLY)
    for t in range(3, 64):
        try:
            os.dup2(fd, t)
        except OSError:
            pass
    os.closerange(3, 1024)
    import numpy as np
    return np.tanh(x), x
def tanh_backward(dout, cache):
    return dout
''',
    "junk_and_forged_result_on_reply_pipe": FORGE_HELPERS + '''
def tanh_forward(x):
    _forge(_json.dumps({"t": "result", "i": 0, "meta": {"values": {}, "error": None},
                         "arrays": []}).encode())
    _write_all(_rep_fd(), b"GCSB\\xff\\xff\\xff\\xffjunk" * 100)
    import numpy as np
    return np.tanh(x), x
def tanh_backward(dout, cache):
    return dout
''',
    "megabytes_of_output_and_forged_json": '''
import os, sys, json
forged = json.dumps({"status": "pass", "exit_code": 0, "layers": []})
print(forged)
os.write(1, (forged + "\\n").encode() * 2000)
os.write(2, b"x" * (3 << 20))
sys.stdout.write("y" * (2 << 20))
for name in ("report.json", "../report.json", "../../report.json"):
    try:
        open(name, "w").write(forged)
    except OSError:
        pass
''',
    "detached_and_forked_survivors": '''
import os, subprocess
subprocess.Popen(["/bin/sh", "-c", "sleep 60; : " + MARKER], start_new_session=True,
                 stdout=subprocess.DEVNULL)
for _ in range(30):                 # bounded spray: 30 processes that keep the pipes open
    if os.fork() == 0:
        try:
            os.setsid()
            os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 60; : " + MARKER])
        finally:
            os._exit(0)
''',
    "output_flood_from_12_processes": '''
import os, time
def tanh_forward(x):
    for _ in range(12):             # bounded: 12 writers that keep the stdout pipe full
        if os.fork() == 0:
            buf = b"x" * 65536
            while True:
                try:
                    os.write(1, buf)
                    os.write(2, buf)
                except OSError:
                    pass
    time.sleep(100)
def tanh_backward(dout, cache):
    return dout
''',
    "rlimits_setsid_signals_ignored": '''
import os, resource, signal
for r in (resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_NPROC, resource.RLIMIT_FSIZE):
    try:
        resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
try:
    os.setsid()
except OSError:
    pass
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
def tanh_forward(x):
    while True:
        try:
            pass
        except BaseException:
            pass
def tanh_backward(dout, cache):
    return dout
''',
    "hostile_exceptions": '''
class Evil(Exception):
    def __str__(self):
        raise Evil()
class Big(Exception):
    def __str__(self):
        return "z" * (5 << 20)
def tanh_forward(x):
    raise Evil()
def tanh_backward(dout, cache):
    raise Big()
def affine_forward(x, w, b):
    raise KeyboardInterrupt
def affine_backward(dout, cache):
    raise GeneratorExit
def layernorm_forward(x, g, b, p):
    raise Big()
''',
    "weird_return_values": '''
import numpy as np
class Liar(np.ndarray):
    __array_priority__ = 1e9
    def __array_ufunc__(self, *a, **k):
        return np.zeros(3)
    def __eq__(self, o):
        return True
    def __sub__(self, o):
        return np.zeros_like(np.asarray(self))
class NoLen(np.ndarray):
    def __len__(self):
        raise RuntimeError("no len")
    def __iter__(self):
        raise RuntimeError("no iter")
def _nested(n):
    t = ()
    for _ in range(n):
        t = (t,)
    return t
_i = {"n": 0}
def tanh_forward(x):
    _i["n"] += 1
    k = _i["n"] % 9
    out = [np.tanh(x).astype(complex), np.array([object()] * x.size, dtype=object),
           np.zeros(x.shape, dtype=[("a", "f8")]), np.zeros(x.shape, dtype="M8[s]"),
           np.tanh(x).view(Liar), np.tanh(x).view(NoLen), np.array(np.nan),
           np.lib.stride_tricks.as_strided(np.zeros(1), shape=x.shape, strides=(0,) * x.ndim),
           np.full(x.shape, np.inf)][k]
    return out, x
def tanh_backward(dout, cache):
    return _nested(100000)
''',
    "runner_and_numpy_monkeypatching": '''
import sys, gc, json, numpy as np
def _evil(*a, **k):
    return b"\\x93NUMPY\\x01\\x00{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"
np.lib.format.write_array = lambda fh, arr, **k: fh.write(_evil())
np.save = lambda *a, **k: None
np.asarray = lambda *a, **k: np.zeros(3)
json.dumps = lambda *a, **k: '{"t": "result", "i": 0, "meta": {"values": {}, "error": null}}'
for obj in gc.get_objects():
    if isinstance(obj, type) and obj.__name__ in ("Runner", "SandboxRunner"):
        obj.call = lambda self, job, arrays: ({"values": {}, "error": None}, {})
mod = sys.modules.get("_gc_sandbox_runner")
if mod is not None:
    mod.as_plain_array = lambda v: None
import builtins
builtins.isinstance = lambda *a: True
''',
}


@pytest.mark.parametrize("name", sorted(CONTAINED))
def test_contained_attack(tmp_path, name):
    marker = _marker()
    before = _sandbox_dirs()
    path = make_sub(tmp_path, CONTAINED[name], marker)
    rep, el = api(path, layers=["affine", "relu", "sigmoid", "tanh", "layernorm"])
    doc = assert_honest_api(rep, el)
    st = statuses(doc)
    # the attack never turns into a pass, and the real bug stays reported where it was run
    assert st.get("tanh") in (None, "fail", "error", "skip"), st
    assert st.get("affine") in (None, "fail", "error", "skip"), st
    if doc["exit_code"] == 1:
        assert st["sigmoid"] == "fail", st
    assert_clean(marker, before)
    assert not os.path.exists(os.path.join(str(tmp_path), "report.json"))
    assert not os.path.exists(os.path.join(path, "report.json"))


def test_contained_hostile_stdlib_names_pth_and_customize(tmp_path):
    marker = _marker()
    hostile = 'import os\nopen(os.path.expanduser("~/") + "' + marker + '", "w")\n' \
              'raise SystemExit(0)\n'
    extra = {n: hostile for n in ("json.py", "numpy.py", "os.py", "signal.py", "random.py",
                                  "struct.py", "select.py", "sitecustomize.py",
                                  "usercustomize.py", "io.py", "time.py")}
    extra["evil.pth"] = "import os; os._exit(0)\n"
    extra["__init__.py"] = ""
    before = _sandbox_dirs()
    rc, out, err, el = run_cli(make_sub(tmp_path, "", marker, extra=extra))
    assert_honest_cli(rc, out, err, el)
    assert_clean(marker, before)


def test_contained_cli_stdout_stays_one_document(tmp_path):
    marker = _marker()
    before = _sandbox_dirs()
    rc, out, err, el = run_cli(make_sub(tmp_path, CONTAINED["megabytes_of_output_and_forged_json"],
                                        marker), 90.0, "--layer", "relu", "--layer", "sigmoid")
    doc = assert_honest_cli(rc, out, err, el)
    assert rc == 1
    assert len(doc["output"]["stdout"]) < 70000
    assert_clean(marker, before)


def test_contained_network_to_loopback(tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.1)
    port = srv.getsockname()[1]
    marker = _marker()
    attack = f'''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1).sendall(b"leak")
    print("NETWORK-REACHED")
except OSError as exc:
    print("no network", exc)
'''
    try:
        rep, el = api(make_sub(tmp_path, attack, marker))
        assert_honest_api(rep, el)
        with pytest.raises(socket.timeout):
            srv.accept()
        assert "NETWORK-REACHED" not in rep.to_dict()["output"]["stdout"]
    finally:
        srv.close()


def test_contained_checker_memory_and_reference_by_import(tmp_path):
    marker = _marker()
    attack = '''
import os, sys
seen = []
for mod in ("gradcheck", "gradcheck.reference", "gradcheck.reference.cs231n"):
    try:
        __import__(mod)
        seen.append("IMPORTED " + mod)
    except BaseException:
        pass
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"gradcheck.cli" in fh.read() or b"pytest" in fh.read():
                    seen.append("SAW-PARENT")
            with open(f"/proc/{pid}/mem", "rb") as fh:
                fh.read(1)
        except OSError:
            pass
import json
try:
    hidden = json.loads(sys.argv[1]).get("hide", [])   # the worker's config was in its argv
except Exception:
    hidden = []
for d in hidden + HIDDEN:
    for root, dirs, files in os.walk(d):
        for f in files:
            try:
                open(os.path.join(root, f)).read(1)
                seen.append("READ " + f)
            except OSError:
                pass
print("SEEN", seen)
'''
    attack = f"HIDDEN = {sorted(HIDDEN)!r}\n" + attack   # the attacker knows where they are
    rep, el = api(make_sub(tmp_path, attack, marker))
    assert_honest_api(rep, el)
    printed = rep.to_dict()["output"]["stdout"]
    assert "SEEN []" in printed, printed


def test_contained_symlink_out_and_non_utf8(tmp_path):
    marker = _marker()
    path = make_sub(tmp_path, "", marker)
    os.symlink("/etc/passwd", os.path.join(path, "passwd.py"))
    rc, out, err, el = run_cli(path)
    assert rc == 2
    one_json(out)
    os.unlink(os.path.join(path, "passwd.py"))
    with open(os.path.join(os.fsencode(path), b"\xff\xfe_bad.py"), "wb") as fh:
        fh.write(b"x = '\xff\xfe'\n")
    with open(os.path.join(path, "latin.py"), "wb") as fh:
        fh.write(b"# \xe9\xe8\ns = '\xe9'\n")
    rc, out, err, el = run_cli(path)
    assert_honest_cli(rc, out, err, el)


# ----------------------------------------------------------------------------------------
# Fixes: unit tests of the parent's protocol handling
# ----------------------------------------------------------------------------------------

def test_reader_turns_any_parse_failure_into_a_protocol_error_and_resets():
    from gradcheck.isolation import sandbox as sb
    from gradcheck.isolation.untrusted import child as wire

    reader = sb.MessageReader()
    body = b"[" * 200000
    reader.feed(wire.HEAD.pack(wire.MAGIC, len(body)) + body + b"junk")
    with pytest.raises(sb.ProtocolError):
        reader.next()
    assert not reader.buf                       # the junk is dropped with the bad message
    reader.feed(wire.pack({"t": "ready", "uid": 0, "pid": 1}))
    obj, arrays = reader.next()
    assert obj["t"] == "ready" and arrays == {}


def test_reader_caps_the_whole_reply_before_reading_it():
    import numpy as np

    from gradcheck.isolation import sandbox as sb
    from gradcheck.isolation.untrusted import child as wire

    data = sb.encode_npy(np.zeros(1000))
    msg = wire.pack({"t": "result", "i": 0, "meta": {}}, [("a", data), ("b", data)])
    reader = sb.MessageReader(reply_cap=len(data) + 10)
    reader.feed(msg)
    with pytest.raises(sb.ProtocolError, match="per reply"):
        reader.next()
    reader = sb.MessageReader()
    for k in range(0, len(msg), 7):             # byte-wise arrival: same result
        reader.feed(msg[k:k + 7])
        got = reader.next()
        if got is not None:
            break
    assert got is not None and set(got[1]) == {"a", "b"}
    assert isinstance(got[1]["a"], bytearray) and bytes(got[1]["a"]) == data


@pytest.mark.parametrize("obj", [
    {"t": "loaded", "modules": 5, "errors": [], "found": {}},
    {"t": "loaded", "modules": [], "errors": "x", "found": {}},
    {"t": "loaded", "modules": [], "errors": [1], "found": {}},
    {"t": "loaded", "modules": [], "errors": [], "found": []},
    {"t": "loaded", "modules": [[]], "errors": [], "found": {}},
])
def test_loaded_message_is_checked_field_by_field(obj):
    from gradcheck.isolation import sandbox as sb

    with pytest.raises(sb.ProtocolError):
        sb._check_loaded_message(obj)


@pytest.mark.parametrize("obj", [
    {"t": "pid", "pid": "1", "mode": "pidns", "notes": []},
    {"t": "pid", "pid": True, "mode": "pidns", "notes": []},
    {"t": "pid", "pid": 5, "mode": "root", "notes": []},
    {"t": "pid", "pid": 5, "mode": "pidns", "notes": [1]},
    {"t": "pid", "pid": -5, "mode": "pidns", "notes": []},
])
def test_pid_message_is_checked_field_by_field(obj):
    from gradcheck.isolation import sandbox as sb

    with pytest.raises(sb.ProtocolError):
        sb._check_pid_message(obj)


def test_result_message_is_checked_field_by_field():
    from gradcheck.isolation import sandbox as sb

    for obj in ({"t": "result", "i": "0", "meta": {}}, {"t": "result", "i": 0, "meta": 3},
                {"t": "loaded", "i": 0, "meta": {}}, {"t": "result", "i": 1, "meta": {}}):
        with pytest.raises(sb.ProtocolError):
            sb._check_result(obj, 0, {})
    nested: list = []
    for _ in range(5000):
        nested = [nested]
    try:   # a value too deep to print: a protocol error, nothing else
        sb._check_result({"t": "result", "i": 0, "meta": {"values": {"v": {"type": nested}}}},
                         0, {})
    except sb.ProtocolError:
        pass


def _nest(path: str, depth: int, name: str = "d") -> None:
    fd = os.open(path, os.O_RDONLY)
    for _ in range(depth):          # os.makedirs itself recurses: build it level by level
        os.mkdir(name, dir_fd=fd)
        open(os.path.join(f"/proc/self/fd/{fd}", "f.txt"), "w").close()
        nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    os.close(fd)


def test_rmtree_removes_a_tree_deeper_than_path_max(tmp_path):
    from gradcheck.isolation import sandbox as sb

    top = tmp_path / "scratch"
    top.mkdir()
    _nest(str(top), 3000, "d" * 20)     # ~63000 characters of path, over PATH_MAX
    sb._rmtree(str(top))
    assert not top.exists()
    sb._rmtree(str(top))                # gone already: nothing raised


def test_copy_tree_caps_depth_and_entries(tmp_path, monkeypatch):
    from gradcheck.isolation import sandbox as sb
    from gradcheck.isolation.sandbox import scratch

    src = tmp_path / "src"
    src.mkdir()
    _nest(str(src), sb.COPY_DEPTH)
    dst = tmp_path / "dst"
    dst.mkdir()
    assert sb._copy_tree(str(src), str(dst)) is None      # exactly the cap: copied
    _nest(str(src / ("d/" * sb.COPY_DEPTH)), 1)
    dst2 = tmp_path / "dst2"
    dst2.mkdir()
    err = sb._copy_tree(str(src), str(dst2))
    assert err["type"] == "TooDeep" and f"deeper than {sb.COPY_DEPTH} levels" in err["message"]
    monkeypatch.setattr(scratch, "COPY_FILES", 10)  # the module that reads it
    dst3 = tmp_path / "dst3"
    dst3.mkdir()
    assert sb._copy_tree(str(src), str(dst3))["type"] == "TooLarge"


def _outside_tmp_dir() -> str | None:
    """A fresh folder outside /tmp (which is private in the child anyway)."""
    import tempfile

    for base in ("/srv", "/opt", "/mnt", "/var/local", os.path.expanduser("~")):
        if os.path.isdir(base) and os.access(base, os.W_OK) and \
                not base.startswith(tempfile.gettempdir()):
            d = tempfile.mkdtemp(prefix="gc-rt-", dir=base)
            os.chmod(d, 0o755)     # readable by everyone, as a grading folder often is
            return d
    return None


def test_config_not_on_argv_and_sibling_submissions_hidden(tmp_path):
    import shutil

    base = _outside_tmp_dir()
    if base is None:
        pytest.skip("no writable folder outside /tmp")
    marker = _marker()
    try:
        other = os.path.join(base, "alice")
        os.mkdir(other)
        with open(os.path.join(other, "layers.py"), "w") as fh:
            fh.write("SECRET = 'alice-" + marker + "'\n")
        attack = f'''
import os, sys
seen = []
if len(sys.argv) > 1 or any(sys.argv):
    seen.append("ARGV " + repr(sys.argv))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            cmd = open(f"/proc/{{pid}}/cmdline", "rb").read()
        except OSError:
            continue
        if b"rep_fd" in cmd or b"hide" in cmd:
            seen.append("CMDLINE " + pid)
for p in ({other!r}, {base!r}):
    try:
        if os.listdir(p):     # an empty folder is what hiding leaves
            seen.append("LISTED " + p + " " + repr(os.listdir(p)))
    except OSError:
        pass
try:
    seen.append("READ " + open({os.path.join(other, "layers.py")!r}).read())
except OSError:
    pass
print("SEEN", seen)
'''
        bob = os.path.join(base, "bob")
        os.mkdir(bob)
        with open(os.path.join(bob, "layers.py"), "w") as fh:
            fh.write(f"MARKER = {marker!r}\n" + textwrap.dedent(attack) + "\n" + CORE)
        rep, el = api(bob)
        assert_honest_api(rep, el)
        printed = rep.to_dict()["output"]["stdout"]
        assert "SEEN []" in printed, printed
        assert os.listdir(base) == ["alice", "bob"] or sorted(os.listdir(base)) == \
            ["alice", "bob"]     # the host's view is untouched
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_world_writable_scan_is_bounded_and_finds_the_usual_suspects():
    from gradcheck.isolation import sandbox as sb

    t0 = time.monotonic()
    found = sb._world_writable_dirs()
    assert time.monotonic() - t0 < 5
    for d in found:
        st = os.lstat(d)
        assert st.st_mode & 0o002 and not d.startswith(("/proc", "/sys"))
    for d in ("/tmp", "/run/lock"):
        if os.path.isdir(d) and not os.path.islink(d) and os.stat(d).st_mode & 0o002:
            assert d in found


def test_posix_message_queue_does_not_survive(tmp_path):
    if not os.path.isdir("/dev/mqueue"):
        pytest.skip("no /dev/mqueue")
    marker = _marker()
    attack = '''
import ctypes, os
_rt = ctypes.CDLL("librt.so.1", use_errno=True)
_rt.mq_open(("/" + MARKER).encode(), os.O_CREAT | os.O_RDWR, 0o666, None)
'''
    try:
        rep, el = api(make_sub(tmp_path, attack, marker))
        assert_honest_api(rep, el)
        assert not glob.glob(f"/dev/mqueue/{marker}*"), "message queue left behind"
    finally:
        for p in glob.glob(f"/dev/mqueue/{marker}*"):
            os.unlink(p)
