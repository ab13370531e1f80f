//! The function specifications behind `code_function`: each a signature, a statement, a
//! Python reference solution, an input kind and a Rust reference that computes expected
//! values outside the sandbox (in the spirit of MBPP's short, well-specified functions,
//! with edge-case behaviour stated in the text rather than left to the tests).

use serde_json::{json, Value};

/// The shape of a spec's arguments; generators in `code_function` produce them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `xs: list[int]`
    List,
    /// `xs: list[int], k: int` with `k >= 0`
    ListCount,
    /// `xs: list[int], k: int` with `k >= 1`
    ListPositive,
    /// `xs: list[int], target: int`
    ListTarget,
    /// two sorted `list[int]`
    SortedPair,
    /// `n: int`, any sign
    Int,
    /// `n: int >= 0`
    Natural,
    /// `n: int >= 1`
    Positive,
    /// `n: int` in 0..=60
    Small,
    /// `a: int, b: int`
    IntPair,
    /// `s: str` of letters and spaces
    Words,
    /// `s: str` over a small alphabet (runs and repeats)
    Runs,
    /// `s: str` with letters, spaces and punctuation (palindrome candidates)
    Phrase,
    /// `s: str, k: int`
    TextShift,
    /// `a: str, b: str` (anagram candidates)
    StrPair,
    /// `s: str, t: str` with `t` non-empty
    Needle,
}

/// One function-writing specification.
pub struct Spec {
    pub name: &'static str,
    pub signature: &'static str,
    pub statement: &'static str,
    /// 1 (easy) ..= 3 (hard).
    pub rating: u8,
    pub kind: Kind,
    pub python: &'static str,
    pub reference: fn(&[Value]) -> Value,
}

fn ints(v: Option<&Value>) -> Vec<i64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn int(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_i64).unwrap_or(0)
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or("").to_string()
}

fn opt(v: Option<i64>) -> Value {
    v.map_or(Value::Null, |x| json!(x))
}

fn is_prime(n: i64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 1;
    }
    true
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn capitalize(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    for (i, c) in w.chars().enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Every specification, in a fixed order (tasks index into it).
pub const SPECS: &[Spec] = &[
    Spec {
        name: "alternating_sum",
        signature: "alternating_sum(xs: list[int]) -> int",
        statement: "Return xs[0] - xs[1] + xs[2] - xs[3] + ... (0 for an empty list).",
        rating: 1,
        kind: Kind::List,
        python: "def alternating_sum(xs):\n    return sum(x if i % 2 == 0 else -x for i, x in enumerate(xs))\n",
        reference: |a| {
            json!(ints(a.first())
                .iter()
                .enumerate()
                .map(|(i, x)| if i % 2 == 0 { *x } else { -x })
                .sum::<i64>())
        },
    },
    Spec {
        name: "binary_ones",
        signature: "binary_ones(n: int) -> int",
        statement: "Return the number of 1 bits in the binary representation of the non-negative integer n.",
        rating: 1,
        kind: Kind::Natural,
        python: "def binary_ones(n):\n    return bin(n).count('1')\n",
        reference: |a| json!(int(a.first()).count_ones()),
    },
    Spec {
        name: "caesar",
        signature: "caesar(s: str, k: int) -> str",
        statement: "Shift every lowercase letter a-z of s by k places in the alphabet, wrapping around (k may be negative or larger than 26); leave all other characters unchanged.",
        rating: 2,
        kind: Kind::TextShift,
        python: "def caesar(s, k):\n    return ''.join(chr((ord(c) - 97 + k) % 26 + 97) if 'a' <= c <= 'z' else c for c in s)\n",
        reference: |a| {
            let k = int(a.get(1)).rem_euclid(26) as u8;
            json!(text(a.first())
                .chars()
                .map(|c| if c.is_ascii_lowercase() {
                    char::from((c as u8 - b'a' + k) % 26 + b'a')
                } else {
                    c
                })
                .collect::<String>())
        },
    },
    Spec {
        name: "capitalize_words",
        signature: "capitalize_words(s: str) -> str",
        statement: "Split s on single spaces, capitalise each piece (first character upper case, the rest lower case; empty pieces stay empty) and join them back with single spaces.",
        rating: 2,
        kind: Kind::Words,
        python: "def capitalize_words(s):\n    return ' '.join(w.capitalize() for w in s.split(' '))\n",
        reference: |a| {
            json!(text(a.first())
                .split(' ')
                .map(capitalize)
                .collect::<Vec<_>>()
                .join(" "))
        },
    },
    Spec {
        name: "chunk_sums",
        signature: "chunk_sums(xs: list[int], k: int) -> list[int]",
        statement: "Split xs into consecutive chunks of k elements (the last chunk may be shorter; k >= 1) and return the list of chunk sums.",
        rating: 2,
        kind: Kind::ListPositive,
        python: "def chunk_sums(xs, k):\n    return [sum(xs[i:i + k]) for i in range(0, len(xs), k)]\n",
        reference: |a| {
            let k = int(a.get(1)).max(1) as usize;
            json!(ints(a.first())
                .chunks(k)
                .map(|c| c.iter().sum::<i64>())
                .collect::<Vec<_>>())
        },
    },
    Spec {
        name: "collatz_steps",
        signature: "collatz_steps(n: int) -> int",
        statement: "Starting from n >= 1, repeatedly replace n by n // 2 if it is even and by 3n + 1 if it is odd. Return the number of replacements until n is 1 (0 when n is already 1).",
        rating: 2,
        kind: Kind::Positive,
        python: "def collatz_steps(n):\n    steps = 0\n    while n != 1:\n        n = n // 2 if n % 2 == 0 else 3 * n + 1\n        steps += 1\n    return steps\n",
        reference: |a| {
            let mut n = int(a.first()).max(1);
            let mut steps = 0;
            while n != 1 {
                n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
                steps += 1;
            }
            json!(steps)
        },
    },
    Spec {
        name: "count_divisors",
        signature: "count_divisors(n: int) -> int",
        statement: "Return the number of positive divisors of the positive integer n.",
        rating: 2,
        kind: Kind::Positive,
        python: "def count_divisors(n):\n    return sum(1 for d in range(1, n + 1) if n % d == 0)\n",
        reference: |a| {
            let n = int(a.first());
            json!((1..=n).filter(|d| n % d == 0).count())
        },
    },
    Spec {
        name: "count_evens",
        signature: "count_evens(xs: list[int]) -> int",
        statement: "Return how many elements of xs are even.",
        rating: 1,
        kind: Kind::List,
        python: "def count_evens(xs):\n    return sum(1 for x in xs if x % 2 == 0)\n",
        reference: |a| json!(ints(a.first()).iter().filter(|x| *x % 2 == 0).count()),
    },
    Spec {
        name: "count_inversions",
        signature: "count_inversions(xs: list[int]) -> int",
        statement: "Return the number of index pairs i < j with xs[i] > xs[j].",
        rating: 3,
        kind: Kind::List,
        python: "def count_inversions(xs):\n    return sum(1 for i in range(len(xs)) for j in range(i + 1, len(xs)) if xs[i] > xs[j])\n",
        reference: |a| {
            let xs = ints(a.first());
            let mut n = 0;
            for i in 0..xs.len() {
                for j in i + 1..xs.len() {
                    if xs[i] > xs[j] {
                        n += 1;
                    }
                }
            }
            json!(n)
        },
    },
    Spec {
        name: "count_substring",
        signature: "count_substring(s: str, t: str) -> int",
        statement: "Return how many times the non-empty string t occurs in s, counting overlapping occurrences.",
        rating: 2,
        kind: Kind::Needle,
        python: "def count_substring(s, t):\n    return sum(1 for i in range(len(s) - len(t) + 1) if s[i:i + len(t)] == t)\n",
        reference: |a| {
            let (s, t) = (text(a.first()), text(a.get(1)));
            let (s, t) = (s.as_bytes(), t.as_bytes());
            json!(s.windows(t.len().max(1)).filter(|w| *w == t).count())
        },
    },
    Spec {
        name: "count_vowels",
        signature: "count_vowels(s: str) -> int",
        statement: "Return the number of vowels (a, e, i, o, u, in either case) in s.",
        rating: 1,
        kind: Kind::Words,
        python: "def count_vowels(s):\n    return sum(1 for c in s if c in 'aeiouAEIOU')\n",
        reference: |a| {
            json!(text(a.first())
                .chars()
                .filter(|c| "aeiouAEIOU".contains(*c))
                .count())
        },
    },
    Spec {
        name: "dedupe",
        signature: "dedupe(xs: list[int]) -> list[int]",
        statement: "Return xs without repeated values, keeping the first occurrence of each value in its original order.",
        rating: 2,
        kind: Kind::List,
        python: "def dedupe(xs):\n    seen, out = set(), []\n    for x in xs:\n        if x not in seen:\n            seen.add(x)\n            out.append(x)\n    return out\n",
        reference: |a| {
            let mut out: Vec<i64> = Vec::new();
            for x in ints(a.first()) {
                if !out.contains(&x) {
                    out.push(x);
                }
            }
            json!(out)
        },
    },
    Spec {
        name: "digit_sum",
        signature: "digit_sum(n: int) -> int",
        statement: "Return the sum of the decimal digits of n, ignoring its sign.",
        rating: 1,
        kind: Kind::Int,
        python: "def digit_sum(n):\n    return sum(int(d) for d in str(abs(n)))\n",
        reference: |a| {
            json!(int(a.first())
                .unsigned_abs()
                .to_string()
                .bytes()
                .map(|b| u64::from(b - b'0'))
                .sum::<u64>())
        },
    },
    Spec {
        name: "fib",
        signature: "fib(n: int) -> int",
        statement: "Return the n-th Fibonacci number, with fib(0) = 0 and fib(1) = 1 (0 <= n <= 60).",
        rating: 2,
        kind: Kind::Small,
        python: "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        reference: |a| {
            let (mut x, mut y) = (0i64, 1i64);
            for _ in 0..int(a.first()) {
                (x, y) = (y, x + y);
            }
            json!(x)
        },
    },
    Spec {
        name: "gcd",
        signature: "gcd(a: int, b: int) -> int",
        statement: "Return the greatest common divisor of a and b as a non-negative integer (either may be negative or zero; gcd(0, 0) is 0).",
        rating: 1,
        kind: Kind::IntPair,
        python: "def gcd(a, b):\n    a, b = abs(a), abs(b)\n    while b:\n        a, b = b, a % b\n    return a\n",
        reference: |a| json!(gcd(int(a.first()), int(a.get(1)))),
    },
    Spec {
        name: "is_anagram",
        signature: "is_anagram(a: str, b: str) -> bool",
        statement: "Return True when b is a rearrangement of exactly the characters of a (case and spaces count), else False.",
        rating: 2,
        kind: Kind::StrPair,
        python: "def is_anagram(a, b):\n    return sorted(a) == sorted(b)\n",
        reference: |a| {
            let mut x: Vec<char> = text(a.first()).chars().collect();
            let mut y: Vec<char> = text(a.get(1)).chars().collect();
            x.sort_unstable();
            y.sort_unstable();
            json!(x == y)
        },
    },
    Spec {
        name: "is_palindrome",
        signature: "is_palindrome(s: str) -> bool",
        statement: "Return True when s reads the same backwards after removing every character that is not a letter or digit and ignoring case, else False.",
        rating: 2,
        kind: Kind::Phrase,
        python: "def is_palindrome(s):\n    t = [c.lower() for c in s if c.isalnum()]\n    return t == t[::-1]\n",
        reference: |a| {
            let t: Vec<char> = text(a.first())
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            json!(t.iter().eq(t.iter().rev()))
        },
    },
    Spec {
        name: "is_palindrome_list",
        signature: "is_palindrome_list(xs: list[int]) -> bool",
        statement: "Return True when xs equals its reverse, else False.",
        rating: 1,
        kind: Kind::List,
        python: "def is_palindrome_list(xs):\n    return xs == xs[::-1]\n",
        reference: |a| {
            let xs = ints(a.first());
            json!(xs.iter().eq(xs.iter().rev()))
        },
    },
    Spec {
        name: "is_prime",
        signature: "is_prime(n: int) -> bool",
        statement: "Return True when n is a prime number, else False (numbers below 2 are not prime).",
        rating: 2,
        kind: Kind::Int,
        python: "def is_prime(n):\n    if n < 2:\n        return False\n    d = 2\n    while d * d <= n:\n        if n % d == 0:\n            return False\n        d += 1\n    return True\n",
        reference: |a| json!(is_prime(int(a.first()))),
    },
    Spec {
        name: "longest_increasing_run",
        signature: "longest_increasing_run(xs: list[int]) -> int",
        statement: "Return the length of the longest run of consecutive elements of xs that is strictly increasing (0 for an empty list).",
        rating: 2,
        kind: Kind::List,
        python: "def longest_increasing_run(xs):\n    best = cur = 0\n    for i, x in enumerate(xs):\n        cur = cur + 1 if i > 0 and x > xs[i - 1] else 1\n        best = max(best, cur)\n    return best\n",
        reference: |a| {
            let xs = ints(a.first());
            let (mut best, mut cur) = (0, 0);
            for i in 0..xs.len() {
                cur = if i > 0 && xs[i] > xs[i - 1] { cur + 1 } else { 1 };
                best = best.max(cur);
            }
            json!(best)
        },
    },
    Spec {
        name: "longest_word",
        signature: "longest_word(s: str) -> str",
        statement: "Return the longest whitespace-separated word of s; the first one on ties; the empty string when s has no words.",
        rating: 2,
        kind: Kind::Words,
        python: "def longest_word(s):\n    best = ''\n    for w in s.split():\n        if len(w) > len(best):\n            best = w\n    return best\n",
        reference: |a| {
            let s = text(a.first());
            let mut best = "";
            for w in s.split_whitespace() {
                if w.len() > best.len() {
                    best = w;
                }
            }
            json!(best)
        },
    },
    Spec {
        name: "majority",
        signature: "majority(xs: list[int]) -> int | None",
        statement: "Return the value that occurs in more than half of the positions of xs, or None when there is no such value.",
        rating: 3,
        kind: Kind::List,
        python: "def majority(xs):\n    for x in set(xs):\n        if xs.count(x) * 2 > len(xs):\n            return x\n    return None\n",
        reference: |a| {
            let xs = ints(a.first());
            opt(xs
                .iter()
                .find(|x| xs.iter().filter(|y| y == x).count() * 2 > xs.len())
                .copied())
        },
    },
    Spec {
        name: "max_subarray_sum",
        signature: "max_subarray_sum(xs: list[int]) -> int",
        statement: "Return the largest sum of a non-empty run of consecutive elements of xs (0 for an empty list).",
        rating: 3,
        kind: Kind::List,
        python: "def max_subarray_sum(xs):\n    if not xs:\n        return 0\n    best = cur = xs[0]\n    for x in xs[1:]:\n        cur = max(x, cur + x)\n        best = max(best, cur)\n    return best\n",
        reference: |a| {
            let xs = ints(a.first());
            let Some(&first) = xs.first() else {
                return json!(0);
            };
            let (mut best, mut cur) = (first, first);
            for &x in &xs[1..] {
                cur = x.max(cur + x);
                best = best.max(cur);
            }
            json!(best)
        },
    },
    Spec {
        name: "merge_sorted",
        signature: "merge_sorted(a: list[int], b: list[int]) -> list[int]",
        statement: "Given two lists sorted in non-decreasing order, return one sorted list with all elements of both.",
        rating: 2,
        kind: Kind::SortedPair,
        python: "def merge_sorted(a, b):\n    out, i, j = [], 0, 0\n    while i < len(a) and j < len(b):\n        if a[i] <= b[j]:\n            out.append(a[i]); i += 1\n        else:\n            out.append(b[j]); j += 1\n    return out + a[i:] + b[j:]\n",
        reference: |a| {
            let mut v = ints(a.first());
            v.extend(ints(a.get(1)));
            v.sort_unstable();
            json!(v)
        },
    },
    Spec {
        name: "mode",
        signature: "mode(xs: list[int]) -> int | None",
        statement: "Return the most frequent value of xs, the smallest such value on ties, or None for an empty list.",
        rating: 2,
        kind: Kind::List,
        python: "def mode(xs):\n    if not xs:\n        return None\n    return min(set(xs), key=lambda x: (-xs.count(x), x))\n",
        reference: |a| {
            let xs = ints(a.first());
            opt(xs
                .iter()
                .copied()
                .min_by_key(|x| (-(xs.iter().filter(|y| *y == x).count() as i64), *x)))
        },
    },
    Spec {
        name: "most_common_char",
        signature: "most_common_char(s: str) -> str",
        statement: "Return the character that occurs most often in s, the smallest character (by code point) on ties, or the empty string when s is empty.",
        rating: 3,
        kind: Kind::Runs,
        python: "def most_common_char(s):\n    if not s:\n        return ''\n    return min(set(s), key=lambda c: (-s.count(c), c))\n",
        reference: |a| {
            let s: Vec<char> = text(a.first()).chars().collect();
            json!(s
                .iter()
                .copied()
                .min_by_key(|c| (-(s.iter().filter(|d| *d == c).count() as i64), *c))
                .map(String::from)
                .unwrap_or_default())
        },
    },
    Spec {
        name: "move_zeros",
        signature: "move_zeros(xs: list[int]) -> list[int]",
        statement: "Return xs with every 0 moved to the end, the other elements keeping their order.",
        rating: 2,
        kind: Kind::List,
        python: "def move_zeros(xs):\n    return [x for x in xs if x != 0] + [x for x in xs if x == 0]\n",
        reference: |a| {
            let xs = ints(a.first());
            let mut out: Vec<i64> = xs.iter().copied().filter(|x| *x != 0).collect();
            out.extend(xs.iter().filter(|x| **x == 0));
            json!(out)
        },
    },
    Spec {
        name: "pairwise_diffs",
        signature: "pairwise_diffs(xs: list[int]) -> list[int]",
        statement: "Return [xs[1] - xs[0], xs[2] - xs[1], ...] (empty when xs has fewer than two elements).",
        rating: 1,
        kind: Kind::List,
        python: "def pairwise_diffs(xs):\n    return [b - a for a, b in zip(xs, xs[1:])]\n",
        reference: |a| {
            json!(ints(a.first())
                .windows(2)
                .map(|w| w[1] - w[0])
                .collect::<Vec<_>>())
        },
    },
    Spec {
        name: "range_span",
        signature: "range_span(xs: list[int]) -> int",
        statement: "Return the largest element minus the smallest element of xs (0 for an empty list).",
        rating: 1,
        kind: Kind::List,
        python: "def range_span(xs):\n    return max(xs) - min(xs) if xs else 0\n",
        reference: |a| {
            let xs = ints(a.first());
            json!(match (xs.iter().max(), xs.iter().min()) {
                (Some(hi), Some(lo)) => hi - lo,
                _ => 0,
            })
        },
    },
    Spec {
        name: "reverse_digits",
        signature: "reverse_digits(n: int) -> int",
        statement: "Return the integer whose decimal digits are those of n in reverse order, keeping the sign of n (for example -120 gives -21).",
        rating: 2,
        kind: Kind::Int,
        python: "def reverse_digits(n):\n    r = int(str(abs(n))[::-1])\n    return -r if n < 0 else r\n",
        reference: |a| {
            let n = int(a.first());
            let r: i64 = n
                .unsigned_abs()
                .to_string()
                .chars()
                .rev()
                .collect::<String>()
                .parse()
                .unwrap_or(0);
            json!(if n < 0 { -r } else { r })
        },
    },
    Spec {
        name: "reverse_words",
        signature: "reverse_words(s: str) -> str",
        statement: "Return the whitespace-separated words of s in reverse order, joined by single spaces.",
        rating: 1,
        kind: Kind::Words,
        python: "def reverse_words(s):\n    return ' '.join(reversed(s.split()))\n",
        reference: |a| {
            let s = text(a.first());
            json!(s.split_whitespace().rev().collect::<Vec<_>>().join(" "))
        },
    },
    Spec {
        name: "rotate_left",
        signature: "rotate_left(xs: list[int], k: int) -> list[int]",
        statement: "Return xs rotated left by k places (k >= 0 may exceed the length; an empty list stays empty).",
        rating: 2,
        kind: Kind::ListCount,
        python: "def rotate_left(xs, k):\n    if not xs:\n        return []\n    k %= len(xs)\n    return xs[k:] + xs[:k]\n",
        reference: |a| {
            let mut xs = ints(a.first());
            if !xs.is_empty() {
                let k = (int(a.get(1)).max(0) as usize) % xs.len();
                xs.rotate_left(k);
            }
            json!(xs)
        },
    },
    Spec {
        name: "run_length",
        signature: "run_length(s: str) -> str",
        statement: "Return the run-length encoding of s: each maximal run of one character written as the character followed by the run length, e.g. 'aaab' gives 'a3b1' (empty for an empty string).",
        rating: 2,
        kind: Kind::Runs,
        python: "def run_length(s):\n    out, i = [], 0\n    while i < len(s):\n        j = i\n        while j < len(s) and s[j] == s[i]:\n            j += 1\n        out.append(s[i] + str(j - i))\n        i = j\n    return ''.join(out)\n",
        reference: |a| {
            let s: Vec<char> = text(a.first()).chars().collect();
            let mut out = String::new();
            let mut i = 0;
            while i < s.len() {
                let mut j = i;
                while j < s.len() && s[j] == s[i] {
                    j += 1;
                }
                out.push(s[i]);
                out.push_str(&(j - i).to_string());
                i = j;
            }
            json!(out)
        },
    },
    Spec {
        name: "running_sum",
        signature: "running_sum(xs: list[int]) -> list[int]",
        statement: "Return the list of prefix sums: element i is xs[0] + ... + xs[i].",
        rating: 1,
        kind: Kind::List,
        python: "def running_sum(xs):\n    out, total = [], 0\n    for x in xs:\n        total += x\n        out.append(total)\n    return out\n",
        reference: |a| {
            let mut total = 0;
            json!(ints(a.first())
                .iter()
                .map(|x| {
                    total += x;
                    total
                })
                .collect::<Vec<_>>())
        },
    },
    Spec {
        name: "second_largest",
        signature: "second_largest(xs: list[int]) -> int | None",
        statement: "Return the second largest distinct value of xs, or None when xs has fewer than two distinct values.",
        rating: 2,
        kind: Kind::List,
        python: "def second_largest(xs):\n    d = sorted(set(xs))\n    return d[-2] if len(d) >= 2 else None\n",
        reference: |a| {
            let mut d = ints(a.first());
            d.sort_unstable();
            d.dedup();
            opt(d.len().checked_sub(2).and_then(|i| d.get(i)).copied())
        },
    },
    Spec {
        name: "two_sum_count",
        signature: "two_sum_count(xs: list[int], target: int) -> int",
        statement: "Return the number of index pairs i < j with xs[i] + xs[j] == target.",
        rating: 2,
        kind: Kind::ListTarget,
        python: "def two_sum_count(xs, target):\n    return sum(1 for i in range(len(xs)) for j in range(i + 1, len(xs)) if xs[i] + xs[j] == target)\n",
        reference: |a| {
            let xs = ints(a.first());
            let t = int(a.get(1));
            let mut n = 0;
            for i in 0..xs.len() {
                for j in i + 1..xs.len() {
                    if xs[i] + xs[j] == t {
                        n += 1;
                    }
                }
            }
            json!(n)
        },
    },
];

/// The function name of a spec (its signature up to the parenthesis).
pub fn function_name(spec: &Spec) -> &'static str {
    spec.signature.split('(').next().unwrap_or(spec.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_named_sorted_and_numerous() {
        assert!(SPECS.len() >= 30);
        assert!(SPECS.windows(2).all(|w| w[0].name < w[1].name));
        for s in SPECS {
            assert_eq!(function_name(s), s.name);
            assert!(
                s.python.starts_with(&format!("def {}(", s.name)),
                "{}",
                s.name
            );
            assert!((1..=3).contains(&s.rating));
        }
    }

    #[test]
    fn references_handle_edge_cases() {
        let get = |n: &str| SPECS.iter().find(|s| s.name == n).unwrap();
        assert_eq!(
            (get("second_largest").reference)(&[json!([3, 3])]),
            Value::Null
        );
        assert_eq!(
            (get("second_largest").reference)(&[json!([3, 1, 3, 2])]),
            json!(2)
        );
        assert_eq!(
            (get("reverse_digits").reference)(&[json!(-120)]),
            json!(-21)
        );
        assert_eq!(
            (get("run_length").reference)(&[json!("aaab")]),
            json!("a3b1")
        );
        assert_eq!(
            (get("caesar").reference)(&[json!("az!"), json!(-27)]),
            json!("zy!")
        );
        assert_eq!(
            (get("max_subarray_sum").reference)(&[json!([-3, -1])]),
            json!(-1)
        );
        assert_eq!((get("mode").reference)(&[json!([2, 1, 2, 1])]), json!(1));
        assert_eq!(
            (get("count_substring").reference)(&[json!("aaaa"), json!("aa")]),
            json!(3)
        );
        assert_eq!(
            (get("capitalize_words").reference)(&[json!("hELLO  wORLD")]),
            json!("Hello  World")
        );
        assert_eq!((get("gcd").reference)(&[json!(-12), json!(18)]), json!(6));
    }
}
