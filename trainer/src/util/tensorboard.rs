//! TensorBoard event files of a run folder (`events.out.tfevents.*`): every numeric field of
//! a `metrics.jsonl` line as a scalar under the same name, in TensorFlow's own format written
//! directly — TFRecord framing (length, masked CRC-32C, data, masked CRC-32C; TensorFlow's
//! `core/lib/io/record_writer.cc`) around `Event` protobufs encoded by hand
//! (`core/util/event.proto`, `core/framework/summary.proto`), which `tensorboard --logdir`
//! reads.

use serde_json::Value;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The prefix TensorBoard looks for; the file name is `PREFIX<unix seconds>.verigym`.
pub const FILE_PREFIX: &str = "events.out.tfevents.";

#[derive(Debug, Error)]
pub enum EventError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {msg}")]
    Metrics {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("metrics line: {0}")]
    Line(String),
    #[error("{path}: not an event file: {msg}")]
    Corrupt { path: PathBuf, msg: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EventError + '_ {
    move |source| EventError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An open event file; each step's event goes out whole in one unbuffered write, so a
/// killed run keeps every step it logged.
pub struct EventWriter {
    file: File,
    path: PathBuf,
}

impl EventWriter {
    /// Starts the event log of `dir` afresh: earlier `events.out.tfevents.*` files there
    /// are removed (TensorBoard would otherwise show their steps beside the new ones), and
    /// a new file opens with the version event every event file starts with.
    pub fn create(dir: &Path) -> Result<EventWriter, EventError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let path = entry.map_err(io_err(dir))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with(FILE_PREFIX) && path.is_file() {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = dir.join(format!("{FILE_PREFIX}{secs}.verigym"));
        let file = File::create(&path).map_err(io_err(&path))?;
        let mut w = EventWriter { file, path };
        let first = event(wall_time(), 0, Payload::FileVersion("brain.Event:2"));
        w.write_records(&record(&first))?;
        Ok(w)
    }

    /// [`EventWriter::create`], then the lines already in `metrics` (a resumed run's
    /// `metrics.jsonl`, cut back to its last checkpoint) replayed, so the event file holds
    /// what the metrics file holds. A missing `metrics` file replays nothing.
    pub fn resume_from_jsonl(dir: &Path, metrics: &Path) -> Result<EventWriter, EventError> {
        let mut w = EventWriter::create(dir)?;
        let text = match std::fs::read_to_string(metrics) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_err(metrics)(e)),
        };
        let mut bytes = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let (step, values) = parse_line(line).map_err(|msg| EventError::Metrics {
                path: metrics.to_path_buf(),
                line: i + 1,
                msg,
            })?;
            if !values.is_empty() {
                bytes.extend(record(&event(wall_time(), step, Payload::Scalars(&values))));
            }
        }
        w.write_records(&bytes)?;
        Ok(w)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One `metrics.jsonl` line: its numeric fields (see [`scalars`]) at its `step`.
    pub fn write_line(&mut self, line: &str) -> Result<(), EventError> {
        let (step, values) = parse_line(line).map_err(EventError::Line)?;
        self.write_scalars(step, &values)
    }

    /// Scalars `(tag, value)` at `step`, as one event.
    pub fn write_scalars(&mut self, step: i64, values: &[(String, f64)]) -> Result<(), EventError> {
        if values.is_empty() {
            return Ok(());
        }
        let bytes = record(&event(wall_time(), step, Payload::Scalars(values)));
        self.write_records(&bytes)
    }

    fn write_records(&mut self, bytes: &[u8]) -> Result<(), EventError> {
        self.file.write_all(bytes).map_err(io_err(&self.path))?;
        self.file.flush().map_err(io_err(&self.path))
    }
}

/// The step and scalars of one metrics line.
fn parse_line(line: &str) -> Result<(i64, Vec<(String, f64)>), String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let step = v
        .get("step")
        .and_then(Value::as_i64)
        .ok_or("no integer \"step\" field")?;
    Ok((step, scalars(&v)))
}

/// The numeric fields of a metrics line under their names, nested objects joined with `/`
/// (`difficulty: {"arithmetic": 3}` is `difficulty/arithmetic`). The top-level `step` is the
/// event's step, not a scalar; strings, booleans, nulls, arrays and non-finite numbers are
/// left out.
pub fn scalars(line: &Value) -> Vec<(String, f64)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, f64)>) {
        match v {
            Value::Number(n) => {
                if let Some(x) = n.as_f64().filter(|x| x.is_finite()) {
                    out.push((prefix.to_string(), x));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let tag = match prefix {
                        "" => k.clone(),
                        p => format!("{p}/{k}"),
                    };
                    walk(&tag, v, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Value::Object(map) = line {
        for (k, v) in map.iter().filter(|(k, _)| k.as_str() != "step") {
            walk(k, v, &mut out);
        }
    }
    out
}

fn wall_time() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

// ---- the format ----

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one table lookup per byte.
pub fn crc32c(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut bit = 0;
            while bit < 8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
                bit += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The CRC as TFRecord stores it: rotated and offset, so a CRC of data that itself holds
/// CRCs stays well distributed.
fn masked_crc(data: &[u8]) -> u32 {
    crc32c(data).rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord: u64 length, masked CRC of the length bytes, the data, masked CRC of the
/// data (all little-endian).
fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc(data).to_le_bytes());
    out
}

enum Payload<'a> {
    FileVersion(&'a str),
    Scalars(&'a [(String, f64)]),
}

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn key(out: &mut Vec<u8>, field: u8, wire: u8) {
    out.push((field << 3) | wire);
}

fn len_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    key(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `Event { double wall_time = 1; int64 step = 2; oneof { string file_version = 3;
/// Summary summary = 5; } }` with `Summary { repeated Value value = 1; }` and
/// `Value { string tag = 1; float simple_value = 2; }`.
fn event(wall_time: f64, step: i64, payload: Payload) -> Vec<u8> {
    let mut out = Vec::new();
    key(&mut out, 1, FIXED64);
    out.extend_from_slice(&wall_time.to_le_bytes());
    key(&mut out, 2, VARINT);
    varint(&mut out, step as u64);
    match payload {
        Payload::FileVersion(v) => len_field(&mut out, 3, v.as_bytes()),
        Payload::Scalars(values) => {
            let mut summary = Vec::new();
            for (tag, x) in values {
                let mut value = Vec::new();
                len_field(&mut value, 1, tag.as_bytes());
                key(&mut value, 2, FIXED32);
                value.extend_from_slice(&(*x as f32).to_le_bytes());
                len_field(&mut summary, 1, &value);
            }
            len_field(&mut out, 5, &summary);
        }
    }
    out
}

// ---- reading back ----

/// One scalar of an event file.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub step: i64,
    pub tag: String,
    pub value: f32,
}

/// A run folder's event file against its `metrics.jsonl`: the folder holds exactly one
/// event file, and its scalars are those of the metrics lines (every numeric field, at the
/// line's step, as f32), in order. Returns them; `Err` says what differs.
pub fn check_run_folder(out: &Path) -> Result<Vec<Scalar>, String> {
    let files: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(FILE_PREFIX))
        })
        .collect();
    let [file] = files.as_slice() else {
        return Err(format!(
            "{}: {} event files, not one",
            out.display(),
            files.len()
        ));
    };
    let metrics = out.join("metrics.jsonl");
    let text =
        std::fs::read_to_string(&metrics).map_err(|e| format!("{}: {e}", metrics.display()))?;
    let mut want = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", metrics.display(), i + 1))?;
        let step = v.get("step").and_then(Value::as_i64).unwrap_or(0);
        want.extend(scalars(&v).into_iter().map(|(tag, x)| Scalar {
            step,
            tag,
            value: x as f32,
        }));
    }
    let got = read_scalars(file).map_err(|e| e.to_string())?;
    if got != want {
        let first = got.iter().zip(&want).position(|(a, b)| a != b);
        return Err(format!(
            "{}: {} scalars, metrics.jsonl has {}; first difference at {first:?}",
            file.display(),
            got.len(),
            want.len()
        ));
    }
    Ok(got)
}

/// The scalars of an event file in the order written, with every record's CRCs checked; a
/// plain protobuf reader that knows only the fields this module writes (what the tests read
/// back; TensorBoard's own reader checks the same files in python/tests).
pub fn read_scalars(path: &Path) -> Result<Vec<Scalar>, EventError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let bad = |msg: &str| EventError::Corrupt {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    };
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let (head, tail) = rest
            .split_at_checked(12)
            .ok_or_else(|| bad("truncated header"))?;
        let (len_bytes, len_crc) = head.split_at(8);
        if masked_crc(len_bytes).to_le_bytes() != len_crc {
            return Err(bad("length CRC mismatch"));
        }
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap_or_default()) as usize;
        let (data, tail) = tail
            .split_at_checked(len)
            .ok_or_else(|| bad("truncated record"))?;
        let (crc, tail) = tail
            .split_at_checked(4)
            .ok_or_else(|| bad("truncated record CRC"))?;
        if masked_crc(data).to_le_bytes() != crc {
            return Err(bad("data CRC mismatch"));
        }
        rest = tail;
        let mut step = 0;
        let mut summary = None;
        for (field, v) in fields(data).map_err(|m| bad(&m))? {
            match (field, v) {
                (2, Field::Varint(s)) => step = s as i64,
                (5, Field::Bytes(b)) => summary = Some(b),
                _ => {}
            }
        }
        let Some(summary) = summary else { continue };
        for (field, v) in fields(summary).map_err(|m| bad(&m))? {
            let (1, Field::Bytes(value)) = (field, v) else {
                continue;
            };
            let (mut tag, mut x) = (None, None);
            for (field, v) in fields(value).map_err(|m| bad(&m))? {
                match (field, v) {
                    (1, Field::Bytes(b)) => tag = Some(String::from_utf8_lossy(b).into_owned()),
                    (2, Field::Fixed32(b)) => x = Some(f32::from_le_bytes(b)),
                    _ => {}
                }
            }
            if let (Some(tag), Some(value)) = (tag, x) {
                out.push(Scalar { step, tag, value });
            }
        }
    }
    Ok(out)
}

enum Field<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

/// The (field number, value) pairs of one protobuf message.
fn fields(mut b: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    fn read_varint(b: &mut &[u8]) -> Result<u64, String> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = b.split_first().ok_or("truncated varint")?;
            *b = rest;
            x |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(x);
            }
        }
        Err("varint too long".into())
    }
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        let (head, rest) = b.split_at_checked(n).ok_or("truncated field")?;
        *b = rest;
        Ok(head)
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let k = read_varint(&mut b)?;
        let v = match (k & 7) as u8 {
            VARINT => Field::Varint(read_varint(&mut b)?),
            FIXED64 => {
                take(&mut b, 8)?;
                Field::Fixed64
            }
            LEN => {
                let n = read_varint(&mut b)? as usize;
                Field::Bytes(take(&mut b, n)?)
            }
            FIXED32 => Field::Fixed32(take(&mut b, 4)?.try_into().unwrap_or_default()),
            w => return Err(format!("wire type {w}")),
        };
        out.push((k >> 3, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crc32c_matches_known_vectors() {
        // The check value of the CRC catalogue and the vectors of RFC 3720, appendix B.4.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        let up: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&up), 0x46DD_794E);
        let down: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&down), 0x113F_DB5C);
    }

    #[test]
    fn records_frame_the_data_with_masked_crcs() {
        let r = record(b"abc");
        assert_eq!(r.len(), 8 + 4 + 3 + 4);
        assert_eq!(&r[..8], &3u64.to_le_bytes());
        // The mask as TensorFlow's crc32c.h writes it, apart from the code under test.
        #[allow(clippy::manual_rotate)]
        let mask = |c: u32| ((c >> 15) | (c << 17)).wrapping_add(0xa282ead8);
        assert_eq!(&r[8..12], &mask(crc32c(&3u64.to_le_bytes())).to_le_bytes());
        assert_eq!(&r[12..15], b"abc");
        assert_eq!(&r[15..], &mask(crc32c(b"abc")).to_le_bytes());
    }

    #[test]
    fn the_event_protobuf_has_the_fields_tensorflow_defines() {
        let e = event(1.5, 300, Payload::FileVersion("brain.Event:2"));
        let mut want = vec![0x09];
        want.extend_from_slice(&1.5f64.to_le_bytes());
        want.extend_from_slice(&[0x10, 0xac, 0x02, 0x1a, 13]);
        want.extend_from_slice(b"brain.Event:2");
        assert_eq!(e, want);
        let e = event(0.0, -1, Payload::Scalars(&[("kl".into(), 0.25)]));
        let f = fields(&e).unwrap();
        assert!(
            matches!(f[1], (2, Field::Varint(u64::MAX))),
            "negative steps as int64"
        );
        let (5, Field::Bytes(summary)) = f[2] else {
            panic!("no summary")
        };
        let mut value = vec![0x0a, 2, b'k', b'l', 0x15];
        value.extend_from_slice(&0.25f32.to_le_bytes());
        let mut want = vec![0x0a, value.len() as u8];
        want.extend_from_slice(&value);
        assert_eq!(summary, &want[..]);
    }

    #[test]
    fn metrics_lines_flatten_to_named_scalars() {
        let line = json!({
            "step": 4, "loss": 0.5, "tokens": 12, "difficulty": {"arithmetic": 3},
            "eval": {"pass@1/countdown": 0.25}, "note": "x", "done": true, "none": null,
            "list": [1, 2],
        });
        let mut got = scalars(&line);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [
            ("difficulty/arithmetic", 3.0),
            ("eval/pass@1/countdown", 0.25),
            ("loss", 0.5),
            ("tokens", 12.0),
        ];
        let want: Vec<(String, f64)> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_resumed_log_replays_the_metrics_file_then_appends() {
        let dir = std::env::temp_dir().join(format!("verigym-tb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let metrics = dir.join("metrics.jsonl");
        // A fresh run: nothing to replay.
        let mut w = EventWriter::resume_from_jsonl(&dir, &metrics).unwrap();
        let line0 = r#"{"step":0,"loss":2.5,"lr":0.001}"#;
        w.write_line(line0).unwrap();
        assert_eq!(read_scalars(w.path()).unwrap().len(), 2);
        let old = w.path().to_path_buf();
        drop(w);
        // Resumed after step 0 was saved: the older file goes, its step comes back.
        let line1 = r#"{"step":1,"loss":1.25,"eval":{"accuracy":0.5}}"#;
        std::fs::write(&metrics, format!("{line0}\n")).unwrap();
        std::fs::write(dir.join(format!("{FILE_PREFIX}1.other")), b"stale").unwrap();
        let mut w = EventWriter::resume_from_jsonl(&dir, &metrics).unwrap();
        w.write_line(line1).unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter(|n| n.starts_with(FILE_PREFIX))
            .collect();
        assert_eq!(files.len(), 1, "{files:?} (old: {})", old.display());
        let s = |step, tag: &str, value| Scalar {
            step,
            tag: tag.into(),
            value,
        };
        assert_eq!(
            read_scalars(w.path()).unwrap(),
            [
                s(0, "loss", 2.5),
                s(0, "lr", 0.001),
                s(1, "eval/accuracy", 0.5),
                s(1, "loss", 1.25),
            ]
        );
        // A corrupted byte is caught by the CRC.
        let path = w.path().to_path_buf();
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 6] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(read_scalars(&path).is_err());
        // A broken metrics line is named, not skipped.
        std::fs::write(&metrics, "{\"step\":0}\n{\"loss\":1}\n").unwrap();
        let e = EventWriter::resume_from_jsonl(&dir, &metrics)
            .err()
            .unwrap();
        assert!(e.to_string().contains("line 2"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
