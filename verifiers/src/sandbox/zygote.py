# verigym sandbox zygote: a pre-started Python interpreter (the Android "zygote" pattern)
# that serves one test at a time with up to three kinds of process:
#
#   zygote  (PID 1 of its namespaces) never reads a request or a program's output, so no
#           test's data is ever in the memory later processes are forked from. Per test it
#           forks the program process, watches it (wall clock, output caps; output moves by
#           splice into memfds it forwards with sendfile, never through its own memory),
#           kills and reaps everything, checks the cgroup leaf and /tmp are empty, and
#           replies. When anything is left over it retires and the pool replaces it.
#   program (another uid, seccomp-filtered, rlimited, in the cgroup leaf) reads its own
#           part of the request (program, input, limits) and runs `program_main`
#           (program.py).
#   judge   (call and assert modes; root or the namespace's owner, not dumpable) forked
#           once the program has taken its part; reads the hidden part (expected value,
#           test code) and judges values the program sends as plain data.
#
# Started by verifiers/src/sandbox/zygote.rs as `python3 -I -S -B -c <program.py + this>
# MODE UID SLOT`. MODE is "isolate" (namespaces required) or "unsafe" (no namespaces,
# process group only). Protocol on fds 0 (requests) and 1 (replies): frames of a 4-byte
# big-endian length + body. A request is the program's JSON part, then in call and assert
# modes the judge's JSON part; a reply is a JSON control part, then four raw frames:
# stdout, stderr, the program's report frames (io mode) and the judge's JSON result.
import ctypes, select, signal, time, errno, shutil, gc, struct, resource, fcntl

# Modules programs commonly import, loaded now so a child running as an unprivileged uid
# finds them in sys.modules even where the interpreter's files are not world-readable.
import math, cmath, collections, collections.abc, itertools, functools, heapq, bisect, re
import string, random, typing, fractions, decimal, statistics, operator, copy, array
import datetime, enum, dataclasses, textwrap, unicodedata, hashlib

MODE = sys.argv[1] if len(sys.argv) > 1 else "isolate"
SANDBOX_UID = int(sys.argv[2]) if len(sys.argv) > 2 else 65534
SLOT = int(sys.argv[3]) if len(sys.argv) > 3 else 0

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 0x4000, 0x40000
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
NEW_ROOT = "/tmp/.verigym-root"
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 4, 24, 38, 22
SECCOMP_MODE_FILTER = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# Whole-tree memory the program's cgroup may hold beyond `memory_mb`: the interpreter's
# copy-on-write pages, pipe buffers and page tables.
CGROUP_HEADROOM_MB = 32


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_CAP_HEADER = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
_CAP_EMPTY = (_CapData * 2)()
WORK = "/tmp/verigym-run"
DEVNULL = os.open("/dev/null", os.O_WRONLY)

libc = ctypes.CDLL(None, use_errno=True)
REQ = os.dup(0)
REP = os.dup(1)
_null = os.open("/dev/null", os.O_RDWR)
for _fd in (0, 1, 2):
    os.dup2(_null, _fd)
os.close(_null)


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def send(obj):
    data = json.dumps(obj).encode()
    write_all(REP, len(data).to_bytes(4, "big") + data)


def read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_all(fd):
    """Everything `fd` gives until its writers close it."""
    buf = bytearray()
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return bytes(buf)
        buf += chunk


def read_frame(fd):
    head = read_exact(fd, 4)
    return None if head is None else read_exact(fd, int.from_bytes(head, "big"))


def check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def write_file(path, text, dir_fd=None):
    fd = os.open(path, os.O_WRONLY, dir_fd=dir_fd)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def read_file(path, dir_fd=None):
    fd = os.open(path, os.O_RDONLY, dir_fd=dir_fd)
    try:
        return os.read(fd, 65536).decode()
    finally:
        os.close(fd)


def try_write(path, text, dir_fd=None):
    """write_file for settings the kernel may not offer."""
    try:
        write_file(path, text, dir_fd)
    except OSError:
        pass


def mount_tmpfs(path, size_mb):
    if os.path.isdir(path):
        opts = ("size=%dm,mode=1777" % size_mb).encode()
        check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, opts), "mount " + path)


def isolate():
    """New user (when not root), mount, network, PID and IPC namespaces; private tmpfs scratch."""
    root = os.geteuid() == 0
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
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
    check(libc.mount(b"tmpfs", (NEW_ROOT + "/tmp").encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=256m,nr_inodes=65536,mode=1777"), "mount /tmp")
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


# ---------------------------------------------------------------- per-test cgroups


class Cgroups:
    """A cgroup per zygote with one leaf, "t", that holds each test's whole process tree in
    turn (tests of a zygote never overlap) under `memory_mb` + headroom and `processes`.
    cgroup v2 where its root offers the memory and pids controllers; else the v1 memory
    and pids hierarchies (hybrid hosts); else none, and the rlimits alone bound the tree
    (RLIMIT_AS per process times RLIMIT_NPROC processes). Reusing the leaf instead of
    making one per test saves a cgroup creation and removal per test; it is empty between
    tests, or the zygote retires. Directories are opened before the pivot and used through
    their fds, since the host's /sys is not mounted inside the sandbox."""

    def __init__(self):
        self.kind = "rlimit"
        self.dirs = []  # (controller, host path of the zygote's group, fd of its leaf)

    def setup(self):
        mounts = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                pre, _, post = line.partition(" - ")
                fields, rest = pre.split(), post.split()
                if len(fields) >= 5 and len(rest) >= 3:
                    mounts.append((fields[4], rest[0], set(rest[2].split(","))))
        own = {}
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                for c in ctrls.split(",") if ctrls else ["v2"]:
                    own[c] = path
        name = "verigym.%d.%d" % (os.getpid(), SLOT)
        for point, fstype, _ in mounts:
            if fstype != "cgroup2":
                continue
            try:
                controllers = read_file(point + "/cgroup.controllers").split()
            except OSError:
                continue
            if "memory" in controllers and "pids" in controllers:
                # The root may hold processes and still delegate controllers; our own
                # cgroup may not (the no-internal-processes rule), so ours hang off the root.
                enabled = read_file(point + "/cgroup.subtree_control").split()
                if "memory" not in enabled or "pids" not in enabled:
                    write_file(point + "/cgroup.subtree_control", "+memory +pids")
                path = self._make(point, name)
                write_file(path + "/cgroup.subtree_control", "+memory +pids")
                self.kind = "v2"
                self.dirs = [("v2", path, self._leaf(path))]
                return
        found = {}
        for point, fstype, opts in mounts:
            for c in ("memory", "pids"):
                if fstype == "cgroup" and c in opts and c in own and c not in found:
                    found[c] = point + own[c].rstrip("/")
        if len(found) == 2:
            for c in ("memory", "pids"):
                path = self._make(found[c], name)
                self.dirs.append((c, path, self._leaf(path)))
            self.kind = "v1"

    @staticmethod
    def _make(base, name):
        # Groups of zygotes whose pool died without removing them (the pid is gone).
        for stale in os.listdir(base):
            parts = stale.split(".")
            if len(parts) == 3 and parts[0] == "verigym" and parts[1].isdigit():
                if not os.path.exists("/proc/" + parts[1]):
                    for d in (base + "/" + stale + "/t", base + "/" + stale):
                        try:
                            os.rmdir(d)
                        except OSError:
                            pass
        path = base + "/" + name
        os.makedirs(path, exist_ok=True)
        return path

    @staticmethod
    def _leaf(path):
        os.makedirs(path + "/t", exist_ok=True)
        return os.open(path + "/t", os.O_RDONLY | os.O_DIRECTORY)

    def enter(self, lim, pid):
        """Sets the leaf's limits for this test and moves `pid` into it. Returns the
        out-of-memory kill count so far, for `usage`."""
        memory = (lim["memory_mb"] + CGROUP_HEADROOM_MB) << 20
        for c, _, fd in self.dirs:
            if c == "v2":
                write_file("memory.max", str(memory), fd)
                try_write("memory.swap.max", "0", fd)  # no swap to spill into
            if c == "memory":
                # v1 wants memory+swap >= memory at every step: whichever goes first
                # depends on whether the limit grows or shrinks.
                try_write("memory.memsw.limit_in_bytes", str(memory), fd)
                write_file("memory.limit_in_bytes", str(memory), fd)
                try_write("memory.memsw.limit_in_bytes", str(memory), fd)
                try_write("memory.max_usage_in_bytes", "0", fd)  # the peak starts afresh
                try_write("memory.failcnt", "0", fd)
            if c in ("v2", "pids"):
                write_file("pids.max", str(lim["processes"]), fd)
            write_file("cgroup.procs", str(pid), fd)
        return self.usage(0)[0]

    def usage(self, kills_before):
        """(out-of-memory kills since `kills_before`, peak bytes or None) of the leaf."""
        kills, peak = 0, None
        for c, _, fd in self.dirs:
            if c not in ("v2", "memory"):
                continue
            events = "memory.events" if c == "v2" else "memory.oom_control"
            try:
                counted = False
                for line in read_file(events, fd).splitlines():
                    k, _, v = line.partition(" ")
                    if k == "oom_kill":
                        kills, counted = int(v) - kills_before, True
                if not counted and c == "memory":
                    # v1 kernels before 4.13 count no kills: a failed charge is the sign.
                    kills = int(int(read_file("memory.failcnt", fd)) > 0)
            except (OSError, ValueError):
                pass
            if c == "memory":
                try:
                    peak = int(read_file("memory.max_usage_in_bytes", fd))
                except (OSError, ValueError):
                    pass
        return kills, peak

    def empty(self):
        """Whether the leaf holds no process (the last test's are all gone)."""
        for _ in range(200):
            if all(not read_file("cgroup.procs", fd).strip() for _, _, fd in self.dirs):
                return True
            time.sleep(0.001)
        return False


CGROUPS = Cgroups()


# ---------------------------------------------------------------- the seccomp filter

# System calls a test program has no use for, refused with EPERM: namespaces, mounts,
# tracing, kernel keyrings, BPF, perf, modules, io_uring (which would bypass this filter),
# SysV IPC and message queues, clocks, reboot and friends. clone is refused only with namespace flags; clone3 answers
# ENOSYS, so the C library falls back to clone, whose flags the filter can see.
DENIED = {
    "unshare": (272, 97), "setns": (308, 268), "mount": (165, 40), "umount2": (166, 39),
    "pivot_root": (155, 41), "chroot": (161, 51), "ptrace": (101, 117), "bpf": (321, 280),
    "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "perf_event_open": (298, 241), "init_module": (175, 105), "finit_module": (313, 273),
    "delete_module": (176, 106), "kexec_load": (246, 104), "kexec_file_load": (320, 294),
    "reboot": (169, 142), "swapon": (167, 224), "swapoff": (168, 225),
    "open_by_handle_at": (304, 265), "name_to_handle_at": (303, 264), "userfaultfd": (323, 282),
    "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430), "fsconfig": (431, 431),
    "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "process_vm_readv": (310, 270), "process_vm_writev": (311, 271), "kcmp": (312, 272),
    "acct": (163, 89), "settimeofday": (164, 170), "clock_settime": (227, 112), "adjtimex": (159, 171),
    "sethostname": (170, 161), "setdomainname": (171, 162), "quotactl": (179, 60), "syslog": (103, 116),
    "vhangup": (153, 58), "io_uring_setup": (425, 425), "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427), "fanotify_init": (300, 262),
    # SysV IPC and POSIX message queues: objects that would outlive the test in the
    # zygote's IPC namespace and carry data to the next one.
    "shmget": (29, 194), "shmat": (30, 196), "shmctl": (31, 195), "shmdt": (67, 197),
    "semget": (64, 190), "semop": (65, 193), "semctl": (66, 191), "semtimedop": (220, 192),
    "msgget": (68, 186), "msgsnd": (69, 189), "msgrcv": (70, 188), "msgctl": (71, 187),
    "mq_open": (240, 180), "mq_unlink": (241, 181), "mq_timedsend": (242, 182),
    "mq_timedreceive": (243, 183), "mq_notify": (244, 184), "mq_getsetattr": (245, 185),
}
SECCOMP_ARCH = {"x86_64": (0, 0xC000003E, 56, 435), "aarch64": (1, 0xC00000B7, 220, 435)}


def seccomp_filter():
    """The filter as packed `struct sock_filter`s, or None on an architecture without a
    table (the namespaces, uid and dropped capabilities still apply there)."""
    arch = SECCOMP_ARCH.get(os.uname().machine)
    if arch is None:
        return None
    column, audit_arch, clone, clone3 = arch
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, KILL, ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
    prog, labels = [], {}

    def op(code, k, jt=0, jf=0):
        prog.append([code, jt, jf, k])

    op(LD, 4)  # seccomp_data.arch
    op(JEQ, audit_arch, 1, 0)
    op(RET, KILL)
    op(LD, 0)  # seccomp_data.nr
    if column == 0:
        op(JGE, 0x40000000, "deny")  # the x32 ABI
    for nr in sorted({v[column] for v in DENIED.values()}):
        op(JEQ, nr, "deny")
    op(JEQ, clone3, "enosys")
    op(JEQ, clone, "clone")
    op(RET, ALLOW)
    labels["clone"] = len(prog)
    op(LD, 16)  # low half of args[0], the flags (little-endian)
    op(JSET, NAMESPACE_FLAGS & 0xFFFFFFFF, "deny", "allow")
    labels["deny"] = len(prog)
    op(RET, ERRNO | errno.EPERM)
    labels["enosys"] = len(prog)
    op(RET, ERRNO | errno.ENOSYS)
    labels["allow"] = len(prog)
    op(RET, ALLOW)
    out = b""
    for i, (code, jt, jf, k) in enumerate(prog):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        out += struct.pack("=HBBI", code, jt, jf, k)
    return out


SECCOMP = seccomp_filter()
# Built once here, so that each program process only hands it to the kernel.
if SECCOMP is not None:
    _SECCOMP_BUF = ctypes.create_string_buffer(SECCOMP, len(SECCOMP))
    _SECCOMP_PROG = _SockFprog(len(SECCOMP) // 8, ctypes.cast(_SECCOMP_BUF, ctypes.c_void_p))


def install_seccomp():
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(_SECCOMP_PROG), 0, 0), "seccomp")


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


def kill_all(pgid):
    """Kills every process the test left behind: as the namespace's init, signal -1
    reaches every other process there, so nothing the program or the judge started
    survives; without namespaces, the program's process group."""
    try:
        if ISOLATED:
            os.kill(-1, signal.SIGKILL)
        elif pgid:
            os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def kill_program(pid, judging):
    """Kills the program's processes. While a judge is still at work, only those of the
    program (its process group and its cgroup leaf), since signal -1 would end the judge
    too; everything else goes when the test is over (`kill_all`)."""
    if not judging:
        kill_all(pid)
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    for _, _, fd in CGROUPS.dirs:
        try:
            for p in read_file("cgroup.procs", fd).split():
                os.kill(int(p), signal.SIGKILL)
        except (OSError, ValueError):
            pass


# ---------------------------------------------------------------- the program's process


def program_process(req_r, req_w, out_w, err_w, res_w, call_r):
    """Forked by the zygote before the request arrived. Reads its own part of the request
    (program, input, limits: nothing a test keeps hidden) from the pipe the zygote splices
    it into, isolates itself and runs the program. Never returns."""
    try:
        os.close(req_w)  # so that the zygote closing its end is the end of the request
        body = read_all(req_r)
        if not body:  # the pool closed the zygote's pipe: no test
            os._exit(0)
        req = json.loads(body)
        lim = req["limits"]
        workdir = "/tmp" if ISOLATED else WORK
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in (out_w, err_w, res_w, call_r)]
        for target, fd in zip((1, 2, 3, 4), high):
            os.dup2(fd, target)
        os.closerange(5, 1 << 16)
        stdin_fd = os.memfd_create("stdin")
        write_all(stdin_fd, req.pop("stdin", "").encode())
        os.lseek(stdin_fd, 0, 0)
        os.dup2(stdin_fd, 0)
        os.close(stdin_fd)
        os.setsid()
        os.chdir(workdir)
        os.umask(0o077)
        set_limits(lim)
        if ROOT:
            os.setgroups([])
            os.setgid(SANDBOX_UID)
            os.setuid(SANDBOX_UID)
        elif ISOLATED:
            drop_capabilities()
        check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        if SECCOMP is not None:
            install_seccomp()
        os.environ.clear()
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    except BaseException as e:  # the sandbox itself failed: report and stop
        try:
            data = json.dumps(["setup_error", repr(e)]).encode()
            write_all(3, len(data).to_bytes(4, "big") + data)
        finally:
            os._exit(120)
    program_main(req)


# ---------------------------------------------------------------- the judge


class JudgeTimeout(BaseException):
    """The wall-clock limit passed while the judge waited for the program."""


class ProgramGone(BaseException):
    """The program's process closed its channel (it exited or was killed). A BaseException
    so that test code catching Exception around a call cannot swallow it."""


class ProgramExit(BaseException):
    """The program called exit during a call."""


class ProgramError(Exception):
    """An exception the program raised that has no built-in counterpart here."""


def error_report(frame):
    """A program's error frame ["error", class, type, message, errno] as a plain report."""
    _, kind, name, message, errno_ = frame
    return {
        "error": str(kind)[:20],
        "type": str(name)[:100],
        "message": str(message)[:300],
        "errno": errno_ if type(errno_) is int and abs(errno_) < 1 << 31 else None,
    }


class Wire:
    """The judge's end of the channel to the program: calls out, plain values back."""

    def __init__(self, rfd, wfd, deadline, cap):
        self.rfd, self.wfd, self.deadline, self.cap = rfd, wfd, deadline, cap
        self.encode, self.decode = make_encoder(1 << 30), make_decoder()

    def _read(self, n):
        buf = bytearray()
        while len(buf) < n:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise JudgeTimeout()
            ready, _, _ = select.select([self.rfd], [], [], left)
            if ready:
                chunk = os.read(self.rfd, n - len(buf))
                if not chunk:
                    raise ProgramGone()
                buf += chunk
        return bytes(buf)

    def read(self):
        n = int.from_bytes(self._read(4), "big")
        if n > self.cap:
            raise ValueError("the program sent a frame of %d bytes" % n)
        frame = self.decode(self._read(n).decode("utf-8"))
        if type(frame) is not list or not frame or type(frame[0]) is not str:
            raise ValueError("the program sent a malformed frame")
        if frame[0] == "setup_error":
            raise RuntimeError("program set-up failed: %s" % (frame[1:],))
        return frame

    def call(self, name, args, kwargs):
        data = self.encode([name, list(args), dict(kwargs)]).encode()
        try:
            write_all(self.wfd, len(data).to_bytes(4, "big") + data)
        except BrokenPipeError:
            raise ProgramGone()
        frame = self.read()
        if frame[0] == "ok" and len(frame) == 2:
            return frame[1]
        if frame[0] == "error" and len(frame) == 5:
            report = error_report(frame)
            if report["error"] == "exit":
                raise ProgramExit(report)
            raise program_exception(report)
        raise ValueError("the program sent a malformed reply")


def program_exception(report):
    """The built-in exception the program raised (so tests that expect one can catch it),
    carrying the program's report."""
    cls = getattr(builtins, report["type"], None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = ProgramError
    try:
        e = cls(report["message"])
    except Exception:
        e = ProgramError(report["message"])
    e.verigym_report = report
    return e


class Candidate:
    """Stands for one of the program's functions in the judge: calls go to the program."""

    __slots__ = ("_wire", "_name")

    def __init__(self, wire, name):
        self._wire, self._name = wire, name

    def __call__(self, *args, **kwargs):
        return self._wire.call(self._name, args, kwargs)

    def __repr__(self):
        return "<candidate %s>" % self._name


def same(got, expected, tol):
    """Equality of a returned value with the expected JSON value: types must agree (a bool
    is not an integer, a tuple counts as a list), integers of any size compare exactly, and
    floats exactly unless the test states a tolerance (absolute or relative)."""
    t = type(expected)
    if expected is None:
        return got is None
    if t is bool or t is str:
        return type(got) is t and got == expected
    if t is int:
        return type(got) is int and got == expected
    if t is float:
        if type(got) not in (int, float):
            return False
        if tol is None:
            return got == expected
        try:
            d = abs(got - expected)
        except OverflowError:
            return False
        return d <= tol or d <= tol * abs(expected)
    if t is list:
        return type(got) in (list, tuple) and len(got) == len(expected) and all(
            same(g, e, tol) for g, e in zip(got, expected))
    if t is dict:
        return type(got) is dict and len(got) == len(expected) and all(
            k in got and same(got[k], v, tol) for k, v in expected.items())
    return False


def shown(value):
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        text = "a value too large to show"
    return text if len(text) <= 80 else text[:79] + "…"


def judge_calls(req, wire, result):
    """Call and assert modes, in a thread of the judge: waits for the program to load,
    then makes the call, or runs the test code against candidates for its functions.
    Fills result["verdict"] (and result["report"] when something raised)."""
    try:
        first = wire.read()
        if first[0] == "error" and len(first) == 5:
            result["report"] = error_report(first)
            return
        if first[0] != "names" or len(first) != 2 or type(first[1]) is not list:
            raise ValueError("the program sent a malformed greeting")
        if req["mode"] == "call":
            got = wire.call(req["function"], json.loads(req["args"]), {})
            ok = same(got, json.loads(req["expected"]), req.get("tolerance"))
            result["verdict"] = {"passed": ok, "detail": "" if ok else "returned " + shown(got)}
            return
        glob = {"__name__": "__main__", "__builtins__": builtins}
        for entry in first[1]:
            if not (type(entry) is list and len(entry) == 4 and all(type(x) is str for x in entry)):
                continue
            name, kind, module, attr = entry
            # Built-in names stay the judge's: a program's `abs` or `sorted` must not
            # answer for the test code.
            if hasattr(builtins, name):
                continue
            own = sys.modules.get(module) if module not in ("", "__main__", "builtins") else None
            if kind == "module" and own is not None:
                glob[name] = own
            elif kind == "callable" and own is not None and "." not in attr and callable(getattr(own, attr, None)):
                glob[name] = getattr(own, attr)
            elif kind == "callable":
                glob[name] = Candidate(wire, name)
        exec(compile(req["test_code"], "tests.py", "exec"), glob)
        entry = req.get("entry_point")
        if entry:
            glob["check"](Candidate(wire, entry))
        result["verdict"] = {"passed": True, "detail": ""}
    except AssertionError as e:
        result["report"] = {"error": "assert", "type": "AssertionError", "message": str(e)[:300], "errno": None}
    except (JudgeTimeout, ProgramGone):
        pass  # the process's fate (timeout, signal, exit) says why
    except ProgramExit as e:
        result["report"] = e.args[0]
    except BaseException as e:
        report = getattr(e, "verigym_report", None)
        if report is None and isinstance(e, (ValueError, RuntimeError)) and "the program sent" in str(e):
            report = {"error": "runtime", "type": "ProtocolError", "message": str(e), "errno": None}
        if isinstance(e, RuntimeError) and str(e).startswith("program set-up failed"):
            result["sandbox_error"] = str(e)
        result["report"] = report or {
            "error": "runtime", "type": type(e).__name__, "message": str(e)[:300], "errno": None}
    finally:
        result.setdefault("verdict", {"passed": False, "detail": ""})


def judge_process(mode, deadline, cap, req_r, res_r, call_w, verdict_fd):
    """The judge, forked by the zygote per call or assert test: reads the hidden part of the
    request (expected value, test code) from the pipe the zygote splices it into, judges,
    writes its result to `verdict_fd` as JSON. Never returns."""
    gc.disable()  # short-lived: the collector would only copy pages shared with the zygote
    try:
        body = read_all(req_r)
        req = json.loads(body)
        req["mode"] = mode
        result = {}
        judge_calls(req, Wire(res_r, call_w, deadline, cap), result)
    except BaseException as e:
        result = {"sandbox_error": "judge: %r" % (e,)}
    write_all(verdict_fd, json.dumps(result).encode())
    os._exit(0)


def empty_tmp():
    """Removes everything in /tmp. Run in a throwaway process, never the zygote: names a
    program chose (its data, maybe) must not enter memory that later tests are forked
    from. False when something cannot be removed (a tree too deep to walk, say)."""
    try:
        with os.scandir("/tmp") as entries:
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path)
                else:
                    os.unlink(e.path)
        return True
    except (OSError, RecursionError):
        return False


def tmp_is_empty():
    # tmpfs sizes a directory by its entries (20 bytes each beyond "." and ".."): an empty
    # /tmp is told without reading a single name.
    st = os.stat("/tmp")
    return st.st_nlink == 2 and st.st_size <= 40


def cleanup(pgid, judge):
    """Kills and reaps everything of the last test, checks its cgroup is empty and empties
    /tmp. False when anything is left: the zygote then retires."""
    if ISOLATED:
        give_up = time.monotonic() + 2.0
        while True:
            kill_all(0)
            try:
                while os.waitpid(-1, os.WNOHANG)[0] > 0:
                    pass
            except ChildProcessError:
                break
            if time.monotonic() > give_up:
                return False
            time.sleep(0.0005)
        if not tmp_is_empty():
            pid = os.fork()
            if pid == 0:
                os._exit(0 if empty_tmp() else 1)
            if os.waitpid(pid, 0)[1] != 0 or not tmp_is_empty():
                return False
    else:
        kill_all(pgid)
        for pid in (pgid, judge):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (OSError, ChildProcessError):
                    pass
        shutil.rmtree(WORK, ignore_errors=True)
        if os.path.lexists(WORK):
            return False
    return CGROUPS.empty() if CGROUPS.dirs else True


def send_blob(fd):
    """Forwards a memfd's contents as one frame, by the kernel: they never enter this
    process's memory."""
    size = os.fstat(fd).st_size
    write_all(REP, size.to_bytes(4, "big"))
    offset = 0
    while offset < size:
        n = os.sendfile(REP, fd, offset, size - offset)
        if n <= 0:
            raise OSError(errno.EIO, "short reply")
        offset += n


def forward(n, fd):
    """Moves the next `n` request bytes to `fd` by splice: the zygote never reads them.
    False when `fd`'s reader is gone (the bytes are then discarded, keeping the request
    stream in step)."""
    ok = True
    while n > 0:
        try:
            moved = os.splice(REQ, fd if ok else DEVNULL, n)
        except BrokenPipeError:
            ok = False
            continue
        if moved == 0:
            raise EOFError("the request ended early")
        n -= moved
    return ok


def run_test(ctl, pid, req_w, out_r, err_r, res_r, call_w, blobs):
    """Runs one test: puts the program's process in the cgroup leaf, forwards it its part
    of the request, starts the judge where the mode has one, moves the program's output
    into the blobs with splice (capped) and enforces the wall-clock limit. Returns the
    reply's control part (no test data)."""
    lim, mode = ctl["limits"], ctl["mode"]
    kills_before = CGROUPS.enter(lim, pid) if CGROUPS.dirs else 0
    if ISOLATED:
        # The zygote's private tmpfs /tmp is the working directory: emptied after every
        # test, sized for this one.
        opts = ("size=%dm" % max(1, min(lim["memory_mb"], 256))).encode()
        check(libc.mount(None, b"/tmp", None, MS_REMOUNT | MS_NOSUID | MS_NODEV, opts), "size /tmp")
    else:
        os.mkdir(WORK, 0o700)
        if ROOT:
            os.chown(WORK, SANDBOX_UID, SANDBOX_UID)
    start = time.monotonic()
    deadline = start + lim["wall_ms"] / 1000.0
    fed = forward(ctl["program_len"], req_w)
    os.close(req_w)
    judge = None
    if mode != "io":
        jreq_r, jreq_w = os.pipe()
        judge = os.fork()
        if judge == 0:
            os.close(jreq_w)
            judge_process(mode, deadline, lim["result_bytes"] + 4096, jreq_r, res_r, call_w, blobs[3])
        os.close(jreq_r)
        fed = forward(ctl["judge_len"], jreq_w) and fed
        os.close(jreq_w)
        os.close(res_r)
    os.close(call_w)
    pidfd = os.pidfd_open(pid)
    sinks = {out_r: blobs[0], err_r: blobs[1], res_r: blobs[2]}
    caps = {out_r: lim["stdout_bytes"], err_r: lim["stderr_bytes"], res_r: lim["result_bytes"] + 4096}
    sizes = {fd: 0 for fd in caps}
    truncated = {fd: False for fd in caps}
    open_fds = {out_r, err_r} | ({res_r} if mode == "io" else set())
    poller = select.poll()
    for fd in open_fds:
        poller.register(fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    judge_fd = None
    if judge is not None:
        judge_fd = os.pidfd_open(judge)
        poller.register(judge_fd, select.POLLIN)
    timed_out = output_limit = exited = killed = False
    judged = judge is None
    drain_deadline = None
    while open_fds or not exited or not judged:
        now = time.monotonic()
        if not killed and now >= deadline:
            timed_out = True
            kill_program(pid, not judged)
            killed = True
            drain_deadline = now + 1.0
        if drain_deadline is not None and now >= drain_deadline:
            break
        limit_at = drain_deadline if killed else deadline
        for fd, _ in poller.poll(max(0, int((limit_at - now) * 1000)) + 1):
            if fd == pidfd or fd == judge_fd:
                poller.unregister(fd)
                if fd == judge_fd:
                    judged = True
                    continue
                exited = True
                # The program's process is gone: whatever it left running dies now.
                if not killed:
                    kill_program(pid, not judged)
                    killed = True
                    drain_deadline = time.monotonic() + 1.0
                continue
            room = caps[fd] - sizes[fd]
            n = os.splice(fd, sinks[fd] if room > 0 else DEVNULL, room if room > 0 else 65536)
            if n == 0:
                poller.unregister(fd)
                open_fds.discard(fd)
            elif room > 0:
                sizes[fd] += n
            else:
                truncated[fd] = True
                if fd != err_r and not killed:
                    output_limit = True
                    kill_program(pid, not judged)
                    killed = True
                    drain_deadline = time.monotonic() + 1.0
    if not killed:
        kill_all(pid)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    judge_ok = True
    if judge is not None:
        if not judged:  # still judging at the deadline: its result is void, not a fault
            os.kill(judge, signal.SIGKILL)
        judge_ok = os.waitpid(judge, 0)[1] == 0 or not judged
        os.close(judge_fd)
    for fd in (out_r, err_r, res_r, pidfd):
        try:
            os.close(fd)
        except OSError:
            pass
    kills, peak = CGROUPS.usage(kills_before) if CGROUPS.dirs else (0, None)
    return {
        "stdout_truncated": truncated[out_r],
        "stderr_truncated": truncated[err_r],
        "timed_out": timed_out,
        "output_limit": output_limit,
        "oom": kills > 0,
        "memory_peak_kb": None if peak is None else peak >> 10,
        "wall_ms": wall * 1000.0,
        "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000.0,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        # A process that died before taking its part of the request: a sandbox fault.
        "judge_ok": judge_ok and fed,
    }


def serve():
    """One test per round: the program's process is forked before the request arrives (so
    the fork is off the request's path); the zygote reads only the request's control part
    (mode, limits, sizes), forwards the rest, watches, cleans up, and replies with the
    control part and the four blobs (stdout, stderr, the program's report frames, the
    judge's result)."""
    blobs = [os.memfd_create(name) for name in ("stdout", "stderr", "report", "judge")]
    while True:
        for fd in blobs:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, 0)
        req_r, req_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe()
        call_r, call_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            program_process(req_r, req_w, out_w, err_w, res_w, call_r)
        for fd in (req_r, out_w, err_w, res_w, call_r):
            os.close(fd)
        body = read_frame(REQ)
        if body is None:  # the pool closed the pipe
            break
        try:
            reply = run_test(json.loads(body), pid, req_w, out_r, err_r, res_r, call_w, blobs)
        except Exception as e:  # a sandbox fault: report it, then retire
            reply = {"sandbox_error": "zygote: %r" % (e,), "judge_ok": False}
        # A request only partly forwarded would shift every later one: such a zygote
        # retires, as does one that cannot clean up after the test.
        reply["clean"] = cleanup(pid, None) and reply["judge_ok"]
        send(reply)
        for fd in blobs:
            send_blob(fd)
        if not reply["clean"]:
            break
    kill_all(0)
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
        if ROOT:
            try:
                CGROUPS.setup()
            except OSError:
                CGROUPS = Cgroups()  # no usable cgroups: the rlimits alone bound a test
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
    send({
        "ready": True, "isolated": ISOLATED, "root": ROOT, "python": sys.version.split()[0],
        "pid": os.getpid(), "cgroup": CGROUPS.kind, "cgroup_dirs": [p for _, p, _ in CGROUPS.dirs],
        "seccomp": SECCOMP is not None,
    })
except Exception as e:
    send({"ready": False, "error": "zygote start-up failed: %r" % (e,)})
    os._exit(3)
# Everything allocated so far is shared copy-on-write with every child: keep the collector
# from touching (and so copying) those pages after each fork.
gc.freeze()
serve()
