//! Hostile programs against the sandbox's limits and walls: each must finish within its limits,
//! score 0 with the right reason, and leave the host as it was (no processes of a sandbox
//! uid left running, nothing left in the host's /tmp, the zygote still serving).
//!
//! Needs Linux namespaces (root or user namespaces) and python3; CI runs these as root.

mod common;

use common::{io, sandbox_processes};
use serde_json::json;
use std::sync::Mutex;
use verigym_verifiers::sandbox::{
    judge, Failure, JudgeReport, Limits, Sandbox, SandboxConfig, TestCase, TestSuite,
};

/// The tests share one pool and check the whole host for stray processes, so they run one
/// at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn sandbox() -> &'static Sandbox {
    static POOL: std::sync::OnceLock<Sandbox> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        Sandbox::new(SandboxConfig {
            workers: 2,
            ..SandboxConfig::default()
        })
        .expect("python3 for the sandbox")
    })
}

fn limits() -> Limits {
    Limits {
        wall_ms: 3000,
        cpu_s: 1,
        memory_mb: 256,
        ..Limits::default()
    }
}

fn call(args: serde_json::Value, expected: serde_json::Value) -> TestSuite {
    TestSuite {
        cases: vec![TestCase::Call {
            function: "f".into(),
            args: args.as_array().cloned().unwrap_or_default(),
            expected,
        }],
        tolerance: None,
    }
}

/// Runs `program`, checks it failed every test with `failure`, and that the host is clean
/// and the pool still works afterwards.
fn hostile(program: &str, suite: &TestSuite, failure: Failure) -> JudgeReport {
    hostile_any(program, suite, &[failure])
}

/// As [`hostile`], accepting any of `failures` (where the reason depends on whether the
/// sandbox runs as root or in a user namespace).
fn hostile_any(program: &str, suite: &TestSuite, failures: &[Failure]) -> JudgeReport {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let report = judge(sandbox(), program, suite, &limits()).expect("sandbox ran");
    assert_eq!(report.passed, 0, "{report:?}");
    let v = report.verdict(program);
    assert!(!v.correct && v.reward == 0.0);
    for r in &report.results {
        assert!(
            r.failure.is_some_and(|f| failures.contains(&f)),
            "{report:?}"
        );
    }
    assert!(
        sandbox_processes().is_empty(),
        "left running: {:?}",
        sandbox_processes()
    );
    assert!(!std::path::Path::new("/tmp/verigym-run").exists());
    // The pool still serves honest programs.
    let ok = judge(sandbox(), "print(input())", &io("7\n", "7"), &limits()).unwrap();
    assert!(ok.all_passed(), "{ok:?}");
    report
}

#[test]
fn honest_programs_pass_every_style() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let sb = sandbox();
    let r = judge(
        sb,
        "a, b = map(int, input().split())\nprint(a + b)\nprint(a * b)",
        &io("3 4\n", "7\n12\n"),
        &limits(),
    )
    .unwrap();
    assert!(r.all_passed(), "{r:?}");
    let r = judge(
        sb,
        "def f(xs):\n    return sorted(set(xs))[-2]",
        &call(json!([[3, 1, 3, 2]]), json!(2)),
        &limits(),
    )
    .unwrap();
    assert!(r.all_passed(), "{r:?}");
    let suite = TestSuite {
        cases: vec![TestCase::Assert {
            test_code: "assert add(2, 3) == 5\nassert add(-1, 1) == 0".into(),
            entry_point: None,
        }],
        tolerance: None,
    };
    let r = judge(sb, "def add(a, b):\n    return a + b", &suite, &limits()).unwrap();
    assert!(r.all_passed(), "{r:?}");
    let r = judge(sb, "def add(a, b):\n    return a - b", &suite, &limits()).unwrap();
    assert_eq!(r.results[0].failure, Some(Failure::WrongAnswer), "{r:?}");
}

#[test]
fn infinite_loop_times_out() {
    // The CPU limit ends it on an idle machine, the wall-clock limit on a loaded one.
    hostile("while True:\n    pass", &io("", "1"), Failure::Timeout);
}

#[test]
fn sleeping_past_the_wall_limit_times_out() {
    let r = hostile(
        "import time\ntime.sleep(1000)",
        &io("", "1"),
        Failure::Timeout,
    );
    assert!(r.results[0].detail.contains("wall"), "{r:?}");
}

#[test]
fn fork_bomb_is_contained() {
    // Fork failures surface as an exception once the process limit is reached ...
    hostile(
        "import os\nwhile True:\n    os.fork()",
        &io("", "1"),
        Failure::RuntimeError,
    );
    // ... and a bomb that swallows them runs out of time, with every process killed.
    hostile(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        &io("", "1"),
        Failure::Timeout,
    );
}

#[test]
fn allocating_50_gb_hits_the_memory_limit() {
    hostile(
        "x = bytearray(50 * 1024**3)\nprint(1)",
        &io("", "1"),
        Failure::Memory,
    );
    hostile(
        "def f(n):\n    return len([0] * (50 * 1024**3 // 8))",
        &call(json!([1]), json!(1)),
        Failure::Memory,
    );
}

#[test]
fn writing_10_gb_to_a_file_hits_the_file_limit() {
    hostile(
        "chunk = b'x' * 2**20\nwith open('big.bin', 'wb') as f:\n    for _ in range(10 * 1024):\n        f.write(chunk)\nprint(1)",
        &io("", "1"),
        Failure::FileLimit,
    );
}

#[test]
fn printing_1_gb_hits_the_output_limit() {
    hostile(
        "import sys\nchunk = 'x' * 2**20\nfor _ in range(1024):\n    sys.stdout.write(chunk)",
        &io("", "1"),
        Failure::OutputLimit,
    );
}

#[test]
fn tcp_connections_fail_even_to_localhost() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let program = format!(
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\ns.sendall(b'leak')\nprint(1)"
    );
    let r = hostile(&program, &io("", "1"), Failure::RuntimeError);
    assert!(listener.accept().is_err(), "a connection reached the host");
    assert!(r.results[0].detail.contains("Error"), "{r:?}");
    hostile(
        "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)\nprint(1)",
        &io("", "1"),
        Failure::RuntimeError,
    );
}

#[test]
fn files_outside_the_working_directory_are_not_visible() {
    // The host keeps a file whose name is the expected output; the program searches the
    // usual scratch places and prints the number it finds.
    let secret = 918_273_645u64;
    let dir = std::env::temp_dir();
    let path = dir.join(format!("verigym_expected_{secret}.txt"));
    std::fs::write(&path, secret.to_string()).unwrap();
    let program = "import os\nfound = '0'\nfor d in ['/tmp', '/var/tmp', '/dev/shm', '..', '/']:\n    try:\n        for n in os.listdir(d):\n            if n.startswith('verigym_expected_'):\n                found = n.split('_')[2].split('.')[0]\n    except OSError:\n        pass\nprint(found)";
    hostile(program, &io("", &secret.to_string()), Failure::WrongAnswer);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn killing_the_parent_fails_and_the_pool_survives() {
    // As root the kill is refused (another uid); in a user namespace the parent is PID 1
    // of the namespace and the kernel drops the signal. Either way the zygote lives on.
    hostile_any(
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, signal.SIGKILL)\nprint(1)",
        &io("", "2"),
        &[Failure::RuntimeError, Failure::WrongAnswer],
    );
    // kill(-1) reaches only the program's own processes: the judge and the zygote are
    // another uid and the namespace's init.
    hostile_any(
        "import os, signal\nos.kill(-1, signal.SIGKILL)\nprint(1)",
        &io("", "2"),
        &[Failure::RuntimeError, Failure::WrongAnswer],
    );
}

#[test]
fn a_child_that_outlives_its_parent_is_killed() {
    // The parent exits at once; its detached child would print the answer much later.
    hostile(
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\n    print(42)",
        &io("", "42"),
        Failure::WrongAnswer,
    );
}

#[test]
fn exiting_before_the_tests_earns_nothing() {
    let r = hostile(
        "import sys\nsys.exit(0)\ndef f(x):\n    return x",
        &call(json!([5]), json!(5)),
        Failure::RuntimeError,
    );
    assert!(r.results[0].detail.contains("exited early"), "{r:?}");
    hostile(
        "import os\nos._exit(0)\ndef f(x):\n    return x",
        &call(json!([5]), json!(5)),
        Failure::RuntimeError,
    );
    // An assertion suite cannot be skipped by exiting either.
    let suite = TestSuite {
        cases: vec![TestCase::Assert {
            test_code: "assert f(1) == 2".into(),
            entry_point: None,
        }],
        tolerance: None,
    };
    hostile(
        "import sys\ndef f(x):\n    sys.exit(0)",
        &suite,
        Failure::RuntimeError,
    );
}

#[test]
fn overriding_eq_earns_nothing() {
    hostile(
        "class Any:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Any()",
        &call(json!([5]), json!(25)),
        Failure::RuntimeError,
    );
    // A subclass of int that claims equality with everything is not a plain int.
    hostile(
        "class I(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return I(0)",
        &call(json!([5]), json!(25)),
        Failure::RuntimeError,
    );
    // In assertion tests the judge gets plain values only: an object with behaviour
    // cannot cross, so the call fails.
    let suite = TestSuite {
        cases: vec![TestCase::Assert {
            test_code: "assert f(5) == 25".into(),
            entry_point: None,
        }],
        tolerance: None,
    };
    hostile(
        "class Any:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Any()",
        &suite,
        Failure::RuntimeError,
    );
}

#[test]
fn monkey_patching_the_harness_earns_nothing() {
    // Patching the serialiser and builtins changes nothing about the value sent.
    let program = "import json, builtins\njson.dumps = lambda *a, **k: '25'\nbuiltins.type = lambda *a: int\nbuiltins.repr = lambda *a: '25'\ndef f(x):\n    return x + 1";
    let r = hostile(program, &call(json!([5]), json!(25)), Failure::WrongAnswer);
    assert!(r.results[0].detail.contains("returned 6"), "{r:?}");
    // A line forged on the result channel breaks the program's own channel, nothing more.
    hostile_any(
        "import os\nos.write(3, b'{\"ok\": \"25\"}\\n')\ndef f(x):\n    return x + 1",
        &call(json!([5]), json!(25)),
        &[Failure::RuntimeError, Failure::WrongAnswer],
    );
    // Forging the assertion suite's success line, then leaving before the tests run.
    let suite = TestSuite {
        cases: vec![TestCase::Assert {
            test_code: "assert f(5) == 25".into(),
            entry_point: None,
        }],
        tolerance: None,
    };
    hostile(
        "import os\nos.write(3, b'{\"ok\": \"passed\"}\\n')\nos._exit(0)\ndef f(x):\n    return x",
        &suite,
        Failure::RuntimeError,
    );
    // Printing a fake success marker is just wrong output.
    hostile(
        "print('All tests passed')\nprint('OK')",
        &io("", "1"),
        Failure::WrongAnswer,
    );
}

#[test]
fn the_host_file_system_is_out_of_reach() {
    // A secret in the work tree (world-readable on the host) and the usual places to look.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let secret = 552_233_114u64;
    let path = dir.join(format!("expected_{secret}"));
    std::fs::write(&path, secret.to_string()).unwrap();
    let program = format!(
        "import os\nfound = []\nfor d in [{:?}, '/work', '/root', '/home', '/proc/1/root']:\n    try:\n        found += [n for n in os.listdir(d)]\n    except OSError:\n        pass\nprint(len(found))",
        dir.display().to_string()
    );
    let r = hostile(&program, &io("", "1"), Failure::WrongAnswer);
    assert!(r.results[0].detail.contains("got '0'"), "{r:?}");
    std::fs::remove_file(&path).unwrap();
}
