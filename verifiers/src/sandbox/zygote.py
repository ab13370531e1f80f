# verigym sandbox zygote: a pre-started Python interpreter that forks one fresh, isolated
# child per test (the Android "zygote" pattern). Only trusted code runs before the fork;
# the child applies the isolation (rlimits, uid, fds, working dir) and only then compiles
# and runs the untrusted program. Expected outputs are never sent here.
#
# Started by verifiers/src/sandbox/zygote.rs as `python3 -I -S -B -c <this> MODE UID`.
# MODE is "isolate" (namespaces required) or "unsafe" (no namespaces, process group only).
# Protocol on fds 0 (requests) and 1 (replies): 4-byte big-endian length + UTF-8 JSON.
import os, sys, json, ctypes, resource, select, signal, time, io, builtins, ast, errno, shutil, gc

# Modules programs commonly import, loaded now so a child running as an unprivileged uid
# finds them in sys.modules even where the interpreter's files are not world-readable.
import math, cmath, collections, collections.abc, itertools, functools, heapq, bisect, re
import string, random, typing, fractions, decimal, statistics, operator, copy, array
import datetime, enum, dataclasses, textwrap, struct, traceback, unicodedata, hashlib

MODE = sys.argv[1] if len(sys.argv) > 1 else "isolate"
SANDBOX_UID = int(sys.argv[2]) if len(sys.argv) > 2 else 65534
SLOT = int(sys.argv[3]) if len(sys.argv) > 3 else 0

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 0x4000, 0x40000
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
NEW_ROOT = "/tmp/.verigym-root"
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_CAP_HEADER = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
_CAP_EMPTY = (_CapData * 2)()
WORK = "/tmp/verigym-run"

libc = ctypes.CDLL(None, use_errno=True)
REQ = os.dup(0)
REP = os.dup(1)
_null = os.open("/dev/null", os.O_RDWR)
for _fd in (0, 1, 2):
    os.dup2(_null, _fd)
os.close(_null)


def send(obj):
    data = json.dumps(obj).encode()
    data = len(data).to_bytes(4, "big") + data
    while data:
        n = os.write(REP, data)
        data = data[n:]


def read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(REQ, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def write_file(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def mount_tmpfs(path, size_mb):
    if os.path.isdir(path):
        opts = ("size=%dm,mode=1777" % size_mb).encode()
        check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, opts), "mount " + path)


def isolate():
    """New user (when not root), mount, network and PID namespaces; private tmpfs scratch."""
    root = os.geteuid() == 0
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
    if not root:
        flags |= CLONE_NEWUSER
    check(libc.unshare(flags), "unshare")
    if not root:
        write_file("/proc/self/setgroups", "deny")
        write_file("/proc/self/uid_map", "0 %d 1" % uid)
        write_file("/proc/self/gid_map", "0 %d 1" % gid)
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    # Host scratch directories are replaced by small private tmpfs mounts: files the host
    # keeps there are invisible, and a program cannot fill the host's disk.
    for path in ("/tmp", "/var/tmp", "/dev/shm"):
        mount_tmpfs(path, 256)
    return root, prepare_root()


def bind(src, dst, file=False):
    """Read-only bind mount of a host path at the same place in the new root."""
    if file:
        os.close(os.open(dst, os.O_CREAT | os.O_WRONLY, 0o644))
    else:
        os.makedirs(dst, 0o755, exist_ok=True)
    check(libc.mount(src.encode(), dst.encode(), None, MS_BIND | MS_REC, None), "bind " + src)
    # Best effort: a user namespace may refuse the read-only remount of locked mounts.
    libc.mount(None, dst.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_REC, None)


def prepare_root():
    """Prepares (for `pivot`) a fresh tmpfs root holding only what Python needs, read-only: /usr, /lib*,
    /bin, /sbin, /etc, the interpreter's prefix, a few device nodes and a private /tmp. The
    host's home directories, work trees and data sets are not reachable at all."""
    import platform
    nr = os.uname().machine
    sysno = SYS_PIVOT_ROOT.get(nr) or SYS_PIVOT_ROOT.get(platform.machine())
    if sysno is None:
        raise OSError(errno.ENOSYS, "pivot_root number unknown for " + nr)
    os.makedirs(NEW_ROOT, 0o755, exist_ok=True)
    check(libc.mount(b"tmpfs", NEW_ROOT.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=0755"), "mount root")
    for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc"):
        src = "/" + top
        dst = NEW_ROOT + src
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif os.path.isdir(src):
            bind(src, dst)
    covered = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/etc/")
    for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}:
        real = os.path.realpath(p)
        if real != "/" and not (real + "/").startswith(covered) and os.path.isdir(real):
            bind(real, NEW_ROOT + real)
    os.makedirs(NEW_ROOT + "/dev", 0o755)
    for dev in ("null", "zero", "full", "random", "urandom"):
        if os.path.exists("/dev/" + dev):
            bind("/dev/" + dev, NEW_ROOT + "/dev/" + dev, file=True)
    for d in ("/proc", "/tmp"):
        os.makedirs(NEW_ROOT + d, 0o755)
    check(libc.mount(b"tmpfs", (NEW_ROOT + "/tmp").encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=256m,mode=1777"), "mount /tmp")
    libc.mount(None, NEW_ROOT.encode(), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    return sysno


def pivot(sysno):
    """Makes the prepared tree the root and detaches the host's."""
    os.chdir(NEW_ROOT)
    check(libc.syscall(sysno, b".", b"."), "pivot_root")
    check(libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")


def become_init(sysno):
    """Forks the process that is PID 1 of the new PID namespace and serves from there; the
    original waits for it. When PID 1 exits, the kernel kills the whole namespace."""
    pid = os.fork()
    if pid != 0:
        for fd in (REQ, REP):
            os.close(fd)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            except InterruptedError:
                continue
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # Not ptrace-able or readable through /proc/PID/mem by the programs it serves.
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # A /proc of this namespace, so programs see only their own processes; mounted before
    # the pivot, while the host's /proc is still visible (user namespaces require that).
    check(libc.mount(b"proc", (NEW_ROOT + "/proc").encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    pivot(sysno)


def kill_all(test_pid):
    """Kills every process the test left behind."""
    if ISOLATED:
        # PID 1 of our namespace: -1 reaches every other process in it, and only those.
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    else:
        try:
            os.killpg(test_pid, signal.SIGKILL)
        except OSError:
            pass


def reap_all(test_pid):
    """Reaps the test and (as PID 1) every orphan; returns the test's wait status. Kills
    again while anything is left, so a process caught mid-fork cannot outlive the test."""
    status, usage = None, None
    idle = 0
    while True:
        try:
            pid, st, ru = os.wait4(-1 if ISOLATED else test_pid, os.WNOHANG)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid == 0:
            idle += 1
            if idle % 10 == 0:
                kill_all(test_pid)
            time.sleep(0.0005)
            continue
        if pid == test_pid:
            status, usage = st, ru
            if not ISOLATED:
                break
    return status, usage


# ---------------------------------------------------------------- the child side


def set_limits(lim):
    cpu = max(1, int(lim["cpu_s"]))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        with open("/proc/self/statm") as f:
            vm_pages = int(f.read().split()[0])
        base = vm_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        base = 0
    resource.setrlimit(resource.RLIMIT_AS, (base + (lim["memory_mb"] << 20),) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (lim["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lim["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (lim["processes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def drop_capabilities():
    """In a user namespace the child shares the zygote's (mapped) uid: it gives up every
    capability, now and across execve, so it cannot ptrace, signal past init's protection,
    remount or otherwise reach the zygote."""
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break
    check(libc.capset(ctypes.byref(_CAP_HEADER), _CAP_EMPTY), "capset")


def child(req, fds, workdir):
    """Runs in the forked test process. Never returns."""
    try:
        os.setsid()
        stdin_fd, out_w, err_w, res_w = fds
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(res_w, 3)
        os.closerange(4, 1 << 16)
        os.chdir(workdir)
        os.umask(0o077)
        set_limits(req["limits"])
        if ROOT:
            os.setgroups([])
            os.setgid(SANDBOX_UID)
            os.setuid(SANDBOX_UID)
        elif ISOLATED:
            drop_capabilities()
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        os.environ.clear()
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    except BaseException as e:  # the sandbox itself failed: report and stop
        try:
            os.write(3, (json.dumps({"setup_error": repr(e)}) + "\n").encode())
        finally:
            os._exit(120)
    harness(req)


def harness(req):
    # Everything the harness needs after the program ran is bound here, before it runs, so
    # that patching modules, builtins or sys earns nothing.
    _write, _exit, _type, _len, _isinstance = os.write, os._exit, type, len, isinstance
    _frepr, _irepr = float.__repr__, int.__repr__
    _enc = json.encoder.encode_basestring_ascii
    _int, _float, _str, _bool, _list, _tuple, _dict, _none = int, float, str, bool, list, tuple, dict, type(None)
    _base_exc, _sysexit = BaseException, SystemExit
    _join = "".join
    _getattr, _enumerate, _callable = getattr, enumerate, callable
    _print_exc, _inf = traceback.print_exc, float("inf")
    _parse, _walk, _fix, _compile, _exec, _dictcopy = ast.parse, ast.walk, ast.fix_missing_locations, compile, exec, dict
    _Assert, _Compare, _Eq, _Call, _Name, _Load = ast.Assert, ast.Compare, ast.Eq, ast.Call, ast.Name, ast.Load
    _AssertionError = AssertionError
    out_cap = req["limits"]["result_bytes"]

    def report(obj):
        # Serialised by `encode` below (captured C functions only), not by json.dumps,
        # which a program can patch.
        data = _str.encode(encode(obj) + "\n", "utf-8", "replace")
        while data:
            n = _write(3, data)
            data = data[n:]

    def encode(value):
        """Strict JSON of plain data: exact built-in types only, bounded size and depth."""
        parts = []
        size = [0]
        def emit(s):
            size[0] += _len(s)
            if size[0] > out_cap:
                raise ValueError("return value is larger than the result limit")
            parts.append(s)

        def walk(v, depth):
            if depth > 100:
                raise ValueError("return value is nested too deeply")
            t = _type(v)
            if t is _none:
                emit("null")
            elif t is _bool:
                emit("true" if v else "false")
            elif t is _int:
                emit(_irepr(v))
            elif t is _float:
                if v != v or v == _inf or v == -_inf:
                    raise ValueError("return value contains NaN or infinity")
                emit(_frepr(v))
            elif t is _str:
                emit(_enc(v))
            elif t is _list or t is _tuple:
                emit("[")
                for i, x in _enumerate(v):
                    if i:
                        emit(",")
                    walk(x, depth + 1)
                emit("]")
            elif t is _dict:
                emit("{")
                for i, (k, x) in _enumerate(_dict.items(v)):
                    if _type(k) is not _str:
                        raise ValueError("dict keys must be str")
                    if i:
                        emit(",")
                    emit(_enc(k))
                    emit(":")
                    walk(x, depth + 1)
                emit("}")
            else:
                raise ValueError("return value of type %s is not plain data" % t.__name__)

        walk(value, 0)
        return _join(parts)

    def fail(kind, e):
        try:
            errno_ = _getattr(e, "errno", None)
            errno_ = errno_ if _type(errno_) is _int else None
            message = _str(e)[:300]
            name = _type(e).__name__
            name = name if _type(name) is _str else "?"
        except _base_exc:
            errno_, message, name = None, "", "?"
        report({"error": kind, "type": name, "message": message, "errno": errno_})

    mode = req["mode"]
    stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace")
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    sys.stdout = stdout
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="replace", line_buffering=True)
    sys.argv = ["solution.py"]
    args = json.loads(req.get("args", "[]")) if mode == "call" else None
    test_code = req.get("test_code") if mode == "assert" else None
    glob = {"__name__": "__main__" if mode != "call" else "solution", "__builtins__": builtins}
    try:
        code = compile(req["program"], "solution.py", "exec")
    except _base_exc as e:
        fail("syntax", e)
        _exit(1)
    try:
        exec(code, glob)
    except _sysexit as e:
        if mode == "io" and e.code in (None, 0):
            try:
                stdout.flush()
            except _base_exc:
                pass
            report({"ok": None})
            _exit(0)
        try:
            stdout.flush()
        except _base_exc:
            pass
        report({"error": "exit", "type": "SystemExit", "message": "program exited with %r" % (e.code,)})
        _exit(1)
    except _base_exc as e:
        try:
            _print_exc()
            sys.stderr.flush()
            stdout.flush()
        except _base_exc:
            pass
        fail("runtime", e)
        _exit(1)
    if mode == "io":
        try:
            stdout.flush()
        except _base_exc as e:
            fail("runtime", e)
            _exit(1)
        report({"ok": None})
        _exit(0)
    if mode == "call":
        # "name" is a module-level function; "Class.method" calls the method on a fresh
        # instance (the LeetCode / LiveCodeBench `Solution().method(...)` convention).
        fname = req["function"]
        owner, _, method = fname.rpartition(".")
        fn = _dict.get(glob, owner if owner else fname)
        if not _callable(fn):
            report({"error": "missing", "type": "NameError", "message": "function %r is not defined" % fname})
            _exit(1)
        try:
            if owner:
                fn = _getattr(fn(), method)
            value = fn(*args)
            text = encode(value)
        except _sysexit as e:
            report({"error": "exit", "type": "SystemExit", "message": "program exited with %r" % (e.code,)})
            _exit(1)
        except _base_exc as e:
            fail("runtime", e)
            _exit(1)
        report({"ok": text})
        _exit(0)
    # assertion tests: the test code runs with its own globals (a copy taken after the
    # program ran) and with `==` inside asserts compared by strict serialisation.
    nonce = req.get("nonce", "")

    def strict_eq(a, b):
        try:
            return encode(a) == encode(b)
        except _base_exc:
            return False

    try:
        tree = _parse(test_code, "tests.py")
        for node in _walk(tree):
            if _isinstance(node, _Assert) and _isinstance(node.test, _Compare):
                t = node.test
                if _len(t.ops) == 1 and _isinstance(t.ops[0], _Eq):
                    node.test = _Call(_Name("__verigym_eq__", _Load()), [t.left, t.comparators[0]], [])
        _fix(tree)
        tests = _compile(tree, "tests.py", "exec")
    except _base_exc as e:
        fail("syntax", e)
        _exit(1)
    tglob = _dictcopy(glob)
    tglob["__verigym_eq__"] = strict_eq
    entry = req.get("entry_point")
    try:
        _exec(tests, tglob)
        if entry:
            tglob["check"](glob[entry])
    except _sysexit as e:
        report({"error": "exit", "type": "SystemExit", "message": "exited during the tests with %r" % (e.code,)})
        _exit(1)
    except _AssertionError as e:
        report({"error": "assert", "type": "AssertionError", "message": str(e)[:300]})
        _exit(1)
    except _base_exc as e:
        fail("runtime", e)
        _exit(1)
    report({"ok": nonce})
    _exit(0)


# ---------------------------------------------------------------- the zygote side


def run_test(req):
    lim = req["limits"]
    try:
        os.mkdir(WORK, 0o700)
    except FileExistsError:
        shutil.rmtree(WORK, ignore_errors=True)
        os.mkdir(WORK, 0o700)
    if ROOT:
        os.chown(WORK, SANDBOX_UID, SANDBOX_UID)
    stdin_fd = os.memfd_create("stdin")
    data = req.get("stdin", "").encode()
    while data:
        n = os.write(stdin_fd, data)
        data = data[n:]
    os.lseek(stdin_fd, 0, 0)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(req, (stdin_fd, out_w, err_w, res_w), WORK)
        os._exit(121)
    for fd in (stdin_fd, out_w, err_w, res_w):
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    caps = {out_r: lim["stdout_bytes"], err_r: lim["stderr_bytes"], res_r: lim["result_bytes"] + 4096}
    bufs = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    truncated = {out_r: False, err_r: False, res_r: False}
    open_fds = {out_r, err_r, res_r}
    deadline = start + lim["wall_ms"] / 1000.0
    timed_out = output_limit = exited = False
    killed = False
    poller = select.poll()
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    drain_deadline = None
    while open_fds or not exited:
        now = time.monotonic()
        if not killed and now >= deadline:
            timed_out = True
            kill_all(pid)
            killed = True
            drain_deadline = now + 1.0
        if drain_deadline is not None and now >= drain_deadline:
            break
        limit_at = drain_deadline if killed else deadline
        events = poller.poll(max(0, int((limit_at - now) * 1000)) + 1)
        for fd, ev in events:
            if fd == pidfd:
                poller.unregister(pidfd)
                exited = True
                # The test process is gone: whatever it left running dies now.
                if not killed:
                    kill_all(pid)
                    killed = True
                    drain_deadline = time.monotonic() + 1.0
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                poller.unregister(fd)
                open_fds.discard(fd)
                continue
            room = caps[fd] - len(bufs[fd])
            if len(chunk) > room:
                bufs[fd] += chunk[:max(room, 0)]
                truncated[fd] = True
                if fd != err_r and not killed:
                    output_limit = True
                    kill_all(pid)
                    killed = True
                    drain_deadline = time.monotonic() + 1.0
            else:
                bufs[fd] += chunk
    if not killed:
        kill_all(pid)
    status, usage = reap_all(pid)
    wall = time.monotonic() - start
    for fd in (out_r, err_r, res_r, pidfd):
        os.close(fd)
    shutil.rmtree(WORK, ignore_errors=True)
    reply = {
        "stdout": bufs[out_r].decode("utf-8", "replace"),
        "stderr": bufs[err_r].decode("utf-8", "replace"),
        "result": bufs[res_r].decode("utf-8", "replace"),
        "stdout_truncated": truncated[out_r],
        "stderr_truncated": truncated[err_r],
        "timed_out": timed_out,
        "output_limit": output_limit,
        "wall_ms": wall * 1000.0,
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000.0 if usage else 0.0,
        "max_rss_kb": usage.ru_maxrss if usage else 0,
        "exit_code": None,
        "signal": None,
    }
    if status is not None:
        if os.WIFEXITED(status):
            reply["exit_code"] = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            reply["signal"] = os.WTERMSIG(status)
    return reply


def serve():
    while True:
        head = read_exact(4)
        if head is None:
            break
        body = read_exact(int.from_bytes(head, "big"))
        if body is None:
            break
        try:
            req = json.loads(body)
            reply = run_test(req)
        except Exception as e:  # a sandbox fault, not a program fault
            reply = {"sandbox_error": repr(e)}
        send(reply)
    kill_all(0) if ISOLATED else None
    os._exit(0)


ROOT = os.geteuid() == 0
ISOLATED = False
try:
    if MODE == "isolate":
        try:
            ROOT, PIVOT = isolate()
        except OSError as e:
            send({"ready": False, "error": "cannot create namespaces (%s); run as root or enable user namespaces, or pass --unsafe-no-isolation" % e})
            os._exit(3)
        ISOLATED = True
        become_init(PIVOT)
    # One core per zygote (its slot in the pool), so a program that spawns busy processes
    # slows its own core, not the host's other work. Advisory: a child may widen it again.
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[SLOT % len(cpus)]})
    except (OSError, AttributeError, IndexError):
        pass
    if not ISOLATED:
        # The host's /tmp is shared with other zygotes: one directory per zygote.
        WORK = "/tmp/verigym-run-%d" % os.getpid()
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    send({"ready": True, "isolated": ISOLATED, "root": ROOT, "python": sys.version.split()[0], "pid": os.getpid()})
except Exception as e:
    send({"ready": False, "error": "zygote start-up failed: %r" % (e,)})
    os._exit(3)
# Everything allocated so far is shared copy-on-write with every child: keep the collector
# from touching (and so copying) those pages after each fork.
gc.freeze()
serve()
