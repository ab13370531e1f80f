//! Attacks on the verdict and on the isolation between tests: each hostile program must fail
//! to earn a pass and leave nothing behind (no processes, SysV IPC objects, host files or
//! cgroup leaves), and an honest program judged after it must still pass.
//!
//! All tests share one single-zygote pool, so a program that plants something (in memory,
//! /tmp, IPC objects, the work folder) is followed by the next program in the same zygote.
//! Needs Linux namespaces (root or user namespaces) and python3; CI runs these as root.

mod common;

use common::{io, sandbox_processes};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use verigym_verifiers::sandbox::{
    judge, Failure, JudgeReport, Limits, Sandbox, SandboxConfig, TestCase, TestSuite,
};

/// One test at a time: they share the pool and inspect the whole host.
static SERIAL: Mutex<()> = Mutex::new(());

fn pool() -> &'static Sandbox {
    static POOL: OnceLock<Sandbox> = OnceLock::new();
    POOL.get_or_init(|| {
        Sandbox::new(SandboxConfig {
            workers: 1,
            ..SandboxConfig::default()
        })
        .expect("python3 for the sandbox")
    })
}

fn limits() -> Limits {
    Limits {
        wall_ms: 5000,
        cpu_s: 2,
        memory_mb: 256,
        ..Limits::default()
    }
}

fn call(function: &str, args: Value, expected: Value) -> TestSuite {
    TestSuite {
        cases: vec![TestCase::Call {
            function: function.into(),
            args: args.as_array().cloned().unwrap_or_default(),
            expected,
        }],
        tolerance: None,
    }
}

fn asserts(test_code: &str, entry_point: Option<&str>) -> TestSuite {
    TestSuite {
        cases: vec![TestCase::Assert {
            test_code: test_code.into(),
            entry_point: entry_point.map(str::to_string),
        }],
        tolerance: None,
    }
}

/// What a test could leave on the host: processes of this pool's uids, SysV IPC objects,
/// POSIX message queues, files in the host's /tmp, processes in zygotes' cgroup leaves.
#[derive(Debug, PartialEq, Default)]
struct Traces {
    processes: BTreeSet<String>,
    ipc: BTreeSet<String>,
    tmp: BTreeSet<String>,
    busy_cgroup_leaves: BTreeSet<String>,
}

fn traces() -> Traces {
    let mut t = Traces::default();
    t.processes.extend(sandbox_processes());
    for kind in ["shm", "msg", "sem"] {
        let text = std::fs::read_to_string(format!("/proc/sysvipc/{kind}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            // key and id identify an object; the rest (times, sizes) changes while it lives.
            let f: Vec<&str> = line.split_whitespace().take(2).collect();
            t.ipc.insert(format!("{kind} {}", f.join(" ")));
        }
    }
    for e in std::fs::read_dir("/dev/mqueue")
        .into_iter()
        .flatten()
        .flatten()
    {
        t.ipc.insert(format!("mqueue {:?}", e.file_name()));
    }
    for e in std::fs::read_dir("/tmp").into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.contains("verigym") || name.contains("attack") {
            t.tmp.insert(name);
        }
    }
    for root in cgroup_roots() {
        find_leaves(&root, 0, &mut t.busy_cgroup_leaves);
    }
    t
}

/// Where this machine's cgroup hierarchies are mounted.
fn cgroup_roots() -> Vec<std::path::PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(" - cgroup"))
        .filter_map(|l| l.split_whitespace().nth(4).map(std::path::PathBuf::from))
        .collect()
}

/// Test leaves ("t") under zygote groups (`verigym.<pid>.<slot>`), a few levels deep, that
/// still hold a process.
fn find_leaves(dir: &std::path::Path, depth: usize, out: &mut BTreeSet<String>) {
    if depth > 4 {
        return;
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("verigym.") {
            let procs = std::fs::read_to_string(p.join("t/cgroup.procs")).unwrap_or_default();
            if !procs.trim().is_empty() {
                out.insert(format!("{}: {}", p.display(), procs.trim()));
            }
        } else if !name.contains('.') || name.ends_with(".slice") {
            find_leaves(&p, depth + 1, out);
        }
    }
}

/// Judges `program` (which must not pass; its failures must be among `failures`), checks
/// it left nothing behind, and that an honest program still passes afterwards.
fn attack(program: &str, suite: &TestSuite, limits: &Limits, failures: &[Failure]) -> JudgeReport {
    let before = traces();
    let report = judge(pool(), program, suite, limits).expect("the sandbox ran");
    assert_eq!(report.passed, 0, "{report:?}");
    let v = report.verdict(program);
    assert!(!v.correct && v.reward == 0.0, "{v:?}");
    for r in &report.results {
        assert!(
            r.failure.is_some_and(|f| failures.contains(&f)),
            "{report:?}"
        );
    }
    assert_eq!(traces(), before, "left behind");
    honest_still_passes();
    report
}

fn honest_still_passes() {
    let ok = judge(
        pool(),
        "print(int(input()) * 2)",
        &io("21\n", "42"),
        &limits(),
    )
    .expect("the sandbox ran");
    assert!(ok.all_passed(), "{ok:?}");
    let ok = judge(
        pool(),
        "import os\nos.mkdir('d')\nopen('d/x', 'w').write('1')\nprint(open('d/x').read())",
        &io("", "1"),
        &limits(),
    )
    .expect("the sandbox ran");
    assert!(ok.all_passed(), "{ok:?}");
}

/// Runs a program that should pass (a control proving an attack's mechanism works).
fn control(program: &str, suite: &TestSuite) -> JudgeReport {
    let r = judge(pool(), program, suite, &limits()).expect("the sandbox ran");
    assert!(r.all_passed(), "control failed: {r:?}");
    r
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn honest_programs_pass_in_every_mode() {
    let _g = lock();
    control(
        "def add(a, b):\n    return a + b",
        &asserts("assert add(2, 3) == 5\nassert add(-1, 1) == 0", None),
    );
    // HumanEval shape: check(candidate), an expected exception, float tolerance in the test.
    control(
        "import math\ndef area(r):\n    if r < 0:\n        raise ValueError('negative')\n    return math.pi * r * r",
        &asserts(
            "def check(candidate):\n    assert abs(candidate(1) - 3.14159265) < 1e-6\n    try:\n        candidate(-1)\n        assert False\n    except ValueError:\n        pass\n",
            Some("area"),
        ),
    );
    // MBPP shape: the program's own import used bare by the tests, tuples, sets, dicts.
    control(
        "from math import isclose\ndef pairs(xs):\n    return {x: (x, x * x) for x in set(xs)}",
        &asserts(
            "assert pairs([2, 2, 3]) == {2: (2, 4), 3: (3, 9)}\nassert isclose(0.1 + 0.2, 0.3)",
            None,
        ),
    );
    control(
        "def f(x):\n    return (x, [x * 2], None, True, 1.5)",
        &call("f", json!([3]), json!([3, [6], null, true, 1.5])),
    );
}

#[test]
fn reading_frames_and_gc_finds_no_test_code() {
    let _g = lock();
    // The program searches every frame above it and every object the collector knows for
    // the hidden test code (or a nonce), and answers from what it finds.
    let program = r#"
import gc, sys
found = {}
def scan(text):
    if isinstance(text, str) and 'assert' in text:
        for line in text.splitlines():
            if 'f(' in line and '==' in line:
                left, right = line.split('==', 1)
                try:
                    found[int(left.split('f(')[1].split(')')[0])] = int(right.split(',')[0])
                except ValueError:
                    pass
frame = sys._getframe()
while frame is not None:
    for v in list(frame.f_globals.values()) + list(frame.f_locals.values()):
        scan(v)
    scan(frame.f_code.co_consts and str(frame.f_code.co_consts))
    frame = frame.f_back
for o in gc.get_objects():
    if isinstance(o, dict):
        for v in list(o.values()):
            scan(v)
    elif isinstance(o, (list, tuple)):
        for v in o:
            scan(v)
def f(x):
    frame = sys._getframe(1) if hasattr(sys, '_getframe') else None
    while frame is not None:
        for v in list(frame.f_locals.values()) + list(frame.f_globals.values()):
            scan(v)
        frame = frame.f_back
    return found.get(x, 0)
"#;
    let suite = asserts(
        "assert f(3) == 9173\nassert f(4) == 28467\nassert f(5) == 55501",
        None,
    );
    attack(program, &suite, &limits(), &[Failure::WrongAnswer]);
    // `assert False` can only fail, whatever the program finds or writes.
    let forger = r#"
import gc, os, re
for o in gc.get_objects():
    if isinstance(o, dict):
        for v in list(o.values()):
            if isinstance(v, str) and re.fullmatch('[0-9a-f]{16}', v):
                os.write(3, ('{"ok": "%s"}\n' % v).encode())
def f(x):
    return x
"#;
    attack(
        forger,
        &asserts("assert f(1) == 1\nassert False", None),
        &limits(),
        &[Failure::WrongAnswer, Failure::RuntimeError],
    );
}

#[test]
fn forged_result_lines_earn_nothing() {
    let _g = lock();
    // Every success message the harness, judge or zygote could send, written on every
    // descriptor the program holds, then a clean exit.
    let program = r#"
import os, json
lines = [
    b'{"ok": null}\n', b'{"ok": "passed"}\n',
    json.dumps(["ok", None]).encode(), json.dumps(["names", []]).encode(),
    json.dumps({"verdict": {"passed": True, "detail": ""}, "exit_code": 0}).encode(),
    json.dumps({"clean": True}).encode(),
]
for fd in range(0, 64):
    for line in lines:
        for data in (line, len(line).to_bytes(4, 'big') + line):
            try:
                os.write(fd, data)
            except OSError:
                pass
os._exit(0)
"#;
    for suite in [
        asserts("assert f(2) == 4\nassert False", None),
        asserts("def check(candidate):\n    assert False\n", Some("f")),
        call("f", json!([5]), json!(25)),
    ] {
        attack(
            program,
            &suite,
            &limits(),
            &[Failure::RuntimeError, Failure::WrongAnswer],
        );
    }
}

#[test]
fn redirecting_descriptors_earns_nothing() {
    let _g = lock();
    // The program swaps its channels around (result onto stdout, stdout onto the result
    // channel, closes the call channel) before and during the call.
    let program = r#"
import os
os.dup2(1, 3)
os.dup2(3, 4)
os.write(1, b'["ok", 25]')
def f(x):
    os.dup2(2, 3)
    os.close(4)
    os.write(1, b'{"ok": 25}\n')
    return 25
"#;
    for suite in [
        asserts("assert f(5) == 26\nassert False", None),
        call("f", json!([5]), json!(26)),
    ] {
        attack(
            program,
            &suite,
            &limits(),
            &[
                Failure::RuntimeError,
                Failure::WrongAnswer,
                Failure::Timeout,
            ],
        );
    }
}

/// A program that prints every `S3CR3T_dddddd` marker in its own readable memory.
const MEMORY_SCANNER: &str = r#"
import ctypes, re, sys
own = sys.stdin.read().strip()
pattern = re.compile(rb'S3CR3T_[0-9]{6}')
found = set()
for line in open('/proc/self/maps'):
    parts = line.split()
    # Anonymous memory, the heap and the stack: where a process keeps its data.
    name = parts[5] if len(parts) > 5 else ''
    if not parts[1].startswith('r') or name not in ('', '[heap]', '[stack]'):
        continue
    lo, hi = (int(x, 16) for x in parts[0].split('-'))
    if hi - lo > 256 << 20:
        continue
    try:
        data = ctypes.string_at(lo, hi - lo)
    except Exception:
        continue
    found.update(m.decode() for m in pattern.findall(data))
print(' '.join(sorted(found - {own})) or 'none', 'own' if own in found else 'blind')
"#;

#[test]
fn memory_holds_no_earlier_test_or_submission() {
    let _g = lock();
    // Earlier tests put markers everywhere they can: the program's source, its input, call
    // arguments, expected values and hidden assertion code.
    control(
        "# S3CR3T_111111\nprint(input())",
        &io("S3CR3T_222222\n", "S3CR3T_222222"),
    );
    control(
        "def f(x):\n    return x + 'S3CR3T_333333'[:0]",
        &call("f", json!(["S3CR3T_444444"]), json!("S3CR3T_444444")),
    );
    judge(
        pool(),
        "def f(x):\n    return 0",
        &call("f", json!([1]), json!("S3CR3T_555555")),
        &limits(),
    )
    .expect("the sandbox ran");
    judge(
        pool(),
        "def g(x):\n    return x",
        &asserts("assert g('S3CR3T_666666') == 'S3CR3T_666666'", None),
        &limits(),
    )
    .expect("the sandbox ran");
    // The scanner sees its own input (it works), and nothing of the tests before it.
    control(MEMORY_SCANNER, &io("S3CR3T_999999\n", "none own"));
    attack(
        MEMORY_SCANNER,
        &io(
            "S3CR3T_999999\n",
            "S3CR3T_111111 S3CR3T_222222 S3CR3T_333333 S3CR3T_444444 S3CR3T_555555 S3CR3T_666666 own",
        ),
        &limits(),
        &[Failure::WrongAnswer],
    );
}

#[test]
fn tmp_is_fresh_for_every_test() {
    let _g = lock();
    let planter = "import os\nfor d in ['/tmp', '.', '/var/tmp', '/dev/shm']:\n    try:\n        open(os.path.join(d, 'attack_note'), 'w').write('S3CR3T_777777')\n    except OSError:\n        pass\nprint(sorted(os.listdir('/tmp')))";
    // The note really lands in the test's /tmp ...
    control(planter, &io("", "['attack_note']"));
    // ... and the next test finds none of it.
    let reader = "import os\nfound = []\nfor d in ['/tmp', '.', '/var/tmp', '/dev/shm', '..']:\n    try:\n        for n in os.listdir(d):\n            if 'attack' in n:\n                found.append(open(os.path.join(d, n)).read())\n    except OSError:\n        pass\nprint(' '.join(found) or 'none')";
    let r = attack(
        reader,
        &io("", "S3CR3T_777777"),
        &limits(),
        &[Failure::WrongAnswer],
    );
    assert!(r.results[0].detail.contains("got 'none'"), "{r:?}");
    // /tmp is size-limited: filling it stops at its size, not at the host's disk.
    let filler = "n = 0\ntry:\n    with open('/tmp/fill', 'wb') as f:\n        while n < 1024:\n            f.write(b'x' * (1 << 20))\n            f.flush()\n            n += 1\nexcept OSError as e:\n    print('full', e.errno)\nelse:\n    print('wrote', n)";
    let small = Limits {
        file_bytes: 1 << 30,
        memory_mb: 64,
        ..limits()
    };
    let r = judge(pool(), filler, &io("", "wrote 1024"), &small).expect("the sandbox ran");
    assert!(!r.all_passed(), "{r:?}");
}

/// Runs SysV shared memory, message queue and POSIX message queue calls through ctypes.
const IPC_PRELUDE: &str = r#"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
KEY, IPC_CREAT = 0x5EC12E7, 0o1000
class Msg(ctypes.Structure):
    _fields_ = [('mtype', ctypes.c_long), ('mtext', ctypes.c_char * 64)]
"#;

#[test]
fn sysv_shared_memory_and_message_queues_die_with_the_test() {
    let _g = lock();
    // The program plants a secret in a SysV segment, a SysV queue and a POSIX queue for
    // the next test: each is refused (EPERM), inside the zygote's own IPC namespace.
    let planter = format!(
        "{IPC_PRELUDE}
done = []
shm = libc.shmget(KEY, 1 << 20, IPC_CREAT | 0o666)
if shm >= 0:
    addr = libc.shmat(shm, None, 0)
    if addr not in (None, ctypes.c_void_p(-1).value):
        ctypes.memmove(addr, b'S3CR3T_888888', 13)
        done.append('shm')
q = libc.msgget(KEY, IPC_CREAT | 0o666)
if q >= 0 and libc.msgsnd(q, ctypes.byref(Msg(1, b'S3CR3T_888888')), 13, 0) == 0:
    done.append('msg')
if hasattr(libc, 'mq_open') and libc.mq_open(b'/verigym_attack', 0o102, 0o666, None) >= 0:
    done.append('mq')
print(' '.join(done) or 'refused', ctypes.get_errno())
"
    );
    let r = attack(
        &planter,
        &io("", "shm msg mq 0"),
        &limits(),
        &[Failure::WrongAnswer],
    );
    assert_eq!(r.results[0].stdout_head, "refused 1\n", "{r:?}");
    // Whatever a program manages to create, the next one finds nothing.
    let reader = format!(
        "{IPC_PRELUDE}
found = []
q = libc.msgget(KEY, 0)
if q >= 0:
    m = Msg()
    if libc.msgrcv(q, ctypes.byref(m), 64, 0, 0o4000) > 0:
        found.append(m.mtext.decode())
shm = libc.shmget(KEY, 0, 0)
if shm >= 0:
    found.append(ctypes.string_at(libc.shmat(shm, None, 0), 13).decode())
print(' '.join(found) or 'none')
"
    );
    let r = attack(
        &reader,
        &io("", "S3CR3T_888888 S3CR3T_888888"),
        &limits(),
        &[Failure::WrongAnswer],
    );
    assert_eq!(r.results[0].stdout_head, "none\n", "{r:?}");
    let host = std::fs::read_to_string("/proc/sysvipc/shm").unwrap_or_default()
        + &std::fs::read_to_string("/proc/sysvipc/msg").unwrap_or_default();
    let key = format!("{}", 0x5EC12E7);
    assert!(
        !host.split_whitespace().any(|w| w == key),
        "an IPC object reached the host"
    );
}

#[test]
fn breaking_the_work_folder_does_not_break_the_pool() {
    let _g = lock();
    for program in [
        // A symlink where the work folder was.
        "import os\nhere = os.getcwd()\nos.chdir('/')\ntry:\n    os.rename(here, here + '.old')\nexcept OSError:\n    pass\ntry:\n    os.rmdir(here)\nexcept OSError:\n    pass\ntry:\n    os.symlink('/', here)\nexcept OSError:\n    pass\nprint('broken')",
        // Permissions removed, contents made immutable-looking, the folder swapped out.
        "import os\nos.makedirs('a/b/c')\nos.symlink('/proc/self/root', 'a/root')\nos.chmod('a/b', 0)\ntry:\n    os.chmod('.', 0)\nexcept OSError:\n    pass\nprint('broken')",
    ] {
        attack(program, &io("", "fixed"), &limits(), &[Failure::WrongAnswer]);
    }
}

#[test]
fn deep_directory_trees_do_not_break_the_pool() {
    let _g = lock();
    let program = "import os\nfor i in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\nfor i in range(200):\n    open('f%d' % i, 'w').close()\nprint('deep')";
    let started = std::time::Instant::now();
    let r = attack(
        program,
        &io("", "shallow"),
        &limits(),
        &[Failure::WrongAnswer],
    );
    assert!(r.results[0].detail.contains("got 'deep'"), "{r:?}");
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn forked_children_share_one_memory_limit() {
    let _g = lock();
    // 15 children hold 60 MiB each at once: 900 MiB from a program limited to 64 MiB.
    let program = r#"
import os, select, time
r, w = os.pipe()
kids = []
for i in range(15):
    pid = os.fork()
    if pid == 0:
        os.close(r)
        block = bytearray(60 << 20)
        for j in range(0, len(block), 4096):
            block[j] = 1
        os.write(w, b'x')
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
os.close(w)
got = b''
give_up = time.monotonic() + 3
while len(got) < 15 and select.select([r], [], [], max(0, give_up - time.monotonic()))[0]:
    chunk = os.read(r, 15)
    if not chunk:
        break
    got += chunk
print('all held' if len(got) == 15 else 'held %d' % len(got))
"#;
    let h = pool().hardening().expect("hardening");
    if h.cgroup == "rlimit" {
        // No usable cgroups: the documented fallback bounds the tree by RLIMIT_AS per
        // process times RLIMIT_NPROC processes.
        let lim = Limits {
            memory_mb: 64,
            processes: 4,
            ..limits()
        };
        attack(
            program,
            &io("", "all held"),
            &lim,
            &[Failure::RuntimeError, Failure::WrongAnswer],
        );
        return;
    }
    let lim = Limits {
        memory_mb: 64,
        ..limits()
    };
    let before = traces();
    let report = judge(pool(), program, &io("", "all held"), &lim).expect("the sandbox ran");
    assert_eq!(report.passed, 0, "{report:?}");
    assert_eq!(
        report.results[0].failure,
        Some(Failure::Memory),
        "{report:?}"
    );
    assert_eq!(traces(), before, "left behind");
    // The peak, where the kernel reports it, stayed near the limit.
    let out = pool()
        .run(
            program,
            &verigym_verifiers::sandbox::Mode::Io {
                stdin: String::new(),
            },
            &lim,
        )
        .expect("the sandbox ran");
    // On a loaded machine the children may not all get to allocate before the parent gives
    // up; either way they never held 900 MiB together.
    assert!(out.oom || out.stdout != "all held\n", "{out:?}");
    if let Some(kb) = out.memory_peak_kb {
        assert!(kb <= (64 + 40) << 10, "peak {kb} KiB");
    }
    honest_still_passes();
}

#[test]
fn huge_integers_compare_exactly() {
    let _g = lock();
    let near = "def f():\n    return 10**30 + 12345";
    // Call mode against 1e30 (as a float: what JSON gives for 10**30) and in assertions.
    attack(
        near,
        &call("f", json!([]), json!(1e30)),
        &limits(),
        &[Failure::WrongAnswer],
    );
    attack(
        near,
        &asserts("assert f() == 10**30", None),
        &limits(),
        &[Failure::WrongAnswer],
    );
    // Beyond 64 bits against the largest u64, and a float for an integer.
    attack(
        "def f():\n    return 2**64 - 1 + 2**80",
        &call("f", json!([]), json!(u64::MAX)),
        &limits(),
        &[Failure::WrongAnswer],
    );
    attack(
        "def f():\n    return 3.0",
        &call("f", json!([]), json!(3)),
        &limits(),
        &[Failure::WrongAnswer],
    );
    control(
        "def f():\n    return 10**30",
        &asserts("assert f() == 10**30\nassert f() + 12345 != f()", None),
    );
    control(
        "def f():\n    return 2**64 - 1",
        &call("f", json!([]), json!(u64::MAX)),
    );
    // Floats: exact unless the test states a tolerance.
    attack(
        "def f():\n    return 0.1 + 0.2",
        &call("f", json!([]), json!(0.3)),
        &limits(),
        &[Failure::WrongAnswer],
    );
    let mut tolerant = call("f", json!([]), json!(0.3));
    tolerant.tolerance = Some(1e-9);
    control("def f():\n    return 0.1 + 0.2", &tolerant);
}

/// System call numbers below are x86_64's (the namespace flags are the same everywhere).
#[cfg(target_arch = "x86_64")]
#[test]
fn nested_namespaces_and_kernel_interfaces_are_refused() {
    let _g = lock();
    let program = r#"
import ctypes, os, errno
libc = ctypes.CDLL(None, use_errno=True)
NS = {'user': 0x10000000, 'net': 0x40000000, 'mount': 0x20000, 'ipc': 0x08000000, 'pid': 0x20000000, 'uts': 0x04000000}
escaped, refused = [], []
def attempt(name, ret):
    (escaped if ret == 0 else refused).append(name)
for name, flag in NS.items():
    attempt('unshare ' + name, libc.unshare(flag))
# clone(2) with a namespace flag, straight through syscall(2) (x86_64: 56).
pid = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)
if pid == 0:
    os._exit(0)
attempt('clone newuser', 0 if pid > 0 else -1)
attempt('setns', libc.setns(os.open('/proc/self/ns/net', os.O_RDONLY), 0))
attempt('mount', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))
attempt('ptrace', libc.ptrace(0, 0, None, None))
attempt('bpf', 0 if libc.syscall(321, 0, None, 0) >= 0 else -1)
attempt('keyctl', 0 if libc.syscall(250, 0, 0, 0, 0, 0) >= 0 else -1)
attempt('perf_event_open', 0 if libc.syscall(298, None, 0, -1, -1, 0) >= 0 else -1)
attempt('io_uring_setup', 0 if libc.syscall(425, 1, None) >= 0 else -1)
print('escaped: ' + ','.join(escaped) if escaped else 'refused all %d' % len(refused))
"#;
    let r = attack(
        program,
        &io("", "escaped: unshare user"),
        &limits(),
        &[Failure::WrongAnswer],
    );
    assert_eq!(r.results[0].stdout_head.trim(), "refused all 14", "{r:?}");
    // Threads (clone3 answered ENOSYS, clone without namespace flags) and plain forks
    // still work under the filter.
    control(
        "import threading, os\nt = threading.Thread(target=lambda: None)\nt.start()\nt.join()\npid = os.fork()\nif pid == 0:\n    os._exit(7)\nprint(os.waitpid(pid, 0)[1] >> 8)",
        &io("", "7"),
    );
}
