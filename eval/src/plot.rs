//! PNG charts that explain themselves: a title, named axes with tick values, a legend, and
//! for noisy per-step curves a smoothed line over the faint raw one. Drawn with `plotters`'
//! bitmap backend and a built-in 5x7 pixel font (two more rows for descenders), so charts
//! render the same on any machine: no system fonts, no font-kit.
//!
//! - [`chart`]: line chart of one or more [`Series`] (800x500).
//! - [`bars`]: grouped bars with optional error half-widths (800x500).

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Width and height of every PNG.
const W: i32 = 800;
const H: i32 = 500;

/// Series colours, in order (the tab10 palette).
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const TEXT: RGBColor = RGBColor(30, 30, 30);
const GRID: RGBColor = RGBColor(228, 228, 228);
const FRAME: RGBColor = RGBColor(90, 90, 90);

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn fail<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------
// Font

/// Glyph rows, top to bottom, separated by spaces: `#` is ink. Five columns; seven rows of
/// cap height and two of descender (trailing empty rows may be left out).
const GLYPHS: &[(char, &str)] = &[
    (' ', ""),
    ('0', ".###. #...# #..## #.#.# ##..# #...# .###."),
    ('1', "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###."),
    ('2', ".###. #...# ....# ...#. ..#.. .#... #####"),
    ('3', "##### ...#. ..#.. ...#. ....# #...# .###."),
    ('4', "...#. ..##. .#.#. #..#. ##### ...#. ...#."),
    ('5', "##### #.... ####. ....# ....# #...# .###."),
    ('6', "..##. .#... #.... ####. #...# #...# .###."),
    ('7', "##### ....# ...#. ..#.. .#... .#... .#..."),
    ('8', ".###. #...# #...# .###. #...# #...# .###."),
    ('9', ".###. #...# #...# .#### ....# ...#. .##.."),
    ('A', ".###. #...# #...# ##### #...# #...# #...#"),
    ('B', "####. #...# #...# ####. #...# #...# ####."),
    ('C', ".###. #...# #.... #.... #.... #...# .###."),
    ('D', "###.. #..#. #...# #...# #...# #..#. ###.."),
    ('E', "##### #.... #.... ####. #.... #.... #####"),
    ('F', "##### #.... #.... ####. #.... #.... #...."),
    ('G', ".###. #...# #.... #.### #...# #...# .####"),
    ('H', "#...# #...# #...# ##### #...# #...# #...#"),
    ('I', ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
    ('J', "..### ...#. ...#. ...#. ...#. #..#. .##.."),
    ('K', "#...# #..#. #.#.. ##... #.#.. #..#. #...#"),
    ('L', "#.... #.... #.... #.... #.... #.... #####"),
    ('M', "#...# ##.## #.#.# #.#.# #...# #...# #...#"),
    ('N', "#...# #...# ##..# #.#.# #..## #...# #...#"),
    ('O', ".###. #...# #...# #...# #...# #...# .###."),
    ('P', "####. #...# #...# ####. #.... #.... #...."),
    ('Q', ".###. #...# #...# #...# #.#.# #..#. .##.#"),
    ('R', "####. #...# #...# ####. #.#.. #..#. #...#"),
    ('S', ".#### #.... #.... .###. ....# ....# ####."),
    ('T', "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."),
    ('U', "#...# #...# #...# #...# #...# #...# .###."),
    ('V', "#...# #...# #...# #...# #...# .#.#. ..#.."),
    ('W', "#...# #...# #...# #.#.# #.#.# #.#.# .#.#."),
    ('X', "#...# #...# .#.#. ..#.. .#.#. #...# #...#"),
    ('Y', "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.."),
    ('Z', "##### ....# ...#. ..#.. .#... #.... #####"),
    ('a', "..... ..... .###. ....# .#### #...# .####"),
    ('b', "#.... #.... #.##. ##..# #...# #...# ####."),
    ('c', "..... ..... .###. #.... #.... #...# .###."),
    ('d', "....# ....# .##.# #..## #...# #...# .####"),
    ('e', "..... ..... .###. #...# ##### #.... .###."),
    ('f', "..##. .#..# .#... ###.. .#... .#... .#..."),
    ('g', "..... ..... .#### #...# #...# #...# .#### ....# .###."),
    ('h', "#.... #.... #.##. ##..# #...# #...# #...#"),
    ('i', "..#.. ..... .##.. ..#.. ..#.. ..#.. .###."),
    ('j', "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##.."),
    ('k', "#.... #.... #..#. #.#.. ##... #.#.. #..#."),
    ('l', ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###."),
    ('m', "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#"),
    ('n', "..... ..... #.##. ##..# #...# #...# #...#"),
    ('o', "..... ..... .###. #...# #...# #...# .###."),
    ('p', "..... ..... ####. #...# #...# #...# ####. #.... #...."),
    ('q', "..... ..... .#### #...# #...# #...# .#### ....# ....#"),
    ('r', "..... ..... #.##. ##..# #.... #.... #...."),
    ('s', "..... ..... .#### #.... .###. ....# ####."),
    ('t', ".#... .#... ###.. .#... .#... .#..# ..##."),
    ('u', "..... ..... #...# #...# #...# #..## .##.#"),
    ('v', "..... ..... #...# #...# #...# .#.#. ..#.."),
    ('w', "..... ..... #...# #...# #.#.# #.#.# .#.#."),
    ('x', "..... ..... #...# .#.#. ..#.. .#.#. #...#"),
    ('y', "..... ..... #...# #...# #...# #...# .#### ....# .###."),
    ('z', "..... ..... ##### ...#. ..#.. .#... #####"),
    ('.', "..... ..... ..... ..... ..... .##.. .##.."),
    (',', "..... ..... ..... ..... ..... .##.. .##.. ..#.. .#..."),
    (':', "..... .##.. .##.. ..... .##.. .##.. ....."),
    (';', "..... .##.. .##.. ..... .##.. .##.. ..#.. .#..."),
    ('-', "..... ..... ..... .###. ..... ..... ....."),
    ('+', "..... ..#.. ..#.. ##### ..#.. ..#.. ....."),
    ('=', "..... ..... ##### ..... ##### ..... ....."),
    ('_', "..... ..... ..... ..... ..... ..... #####"),
    ('/', "..... ....# ...#. ..#.. .#... #.... ....."),
    ('\\', "..... #.... .#... ..#.. ...#. ....# ....."),
    ('(', "...#. ..#.. .#... .#... .#... ..#.. ...#."),
    (')', ".#... ..#.. ...#. ...#. ...#. ..#.. .#..."),
    ('[', ".###. .#... .#... .#... .#... .#... .###."),
    (']', ".###. ...#. ...#. ...#. ...#. ...#. .###."),
    ('<', "...#. ..#.. .#... #.... .#... ..#.. ...#."),
    ('>', ".#... ..#.. ...#. ....# ...#. ..#.. .#..."),
    ('%', "##... ##..# ...#. ..#.. .#... #..## ...##"),
    ('*', "..... ..#.. #.#.# .###. #.#.# ..#.. ....."),
    ('!', "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#.."),
    ('?', ".###. #...# ....# ...#. ..#.. ..... ..#.."),
    ('\'', "..#.. ..#.. .#... ..... ..... ..... ....."),
    ('"', ".#.#. .#.#. ..... ..... ..... ..... ....."),
    ('#', ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#."),
    ('&', ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#"),
    ('|', "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."),
    ('~', "..... ..... .#... #.#.# ...#. ..... ....."),
    ('^', "..#.. .#.#. #...# ..... ..... ..... ....."),
    ('@', ".###. #...# #.### #.#.# #.### #.... .####"),
    ('$', "..#.. .#### #.#.. .###. ..#.# ####. ..#.."),
    ('±', "..#.. ..#.. ##### ..#.. ..#.. ..... #####"),
    ('×', "..... #...# .#.#. ..#.. .#.#. #...# ....."),
];

/// Rows of a glyph cell (7 of cap height, 2 of descender); columns are 5, advance is 6.
const ROWS: usize = 9;
/// Drawn for characters the font lacks.
const BOX: [u8; ROWS] = [31, 17, 17, 17, 17, 17, 31, 0, 0];

/// The glyph of `c` (bit 4 is the leftmost column), or `None` when the font lacks it.
fn glyph(c: char) -> Option<[u8; ROWS]> {
    let (_, art) = GLYPHS.iter().find(|g| g.0 == c)?;
    let mut rows = [0u8; ROWS];
    for (row, bits) in rows.iter_mut().zip(art.split_whitespace()) {
        *row = bits
            .bytes()
            .fold(0, |acc, b| (acc << 1) | u8::from(b == b'#'));
    }
    Some(rows)
}

/// Whether the font has a glyph for `c` (others are drawn as a box).
pub fn has_glyph(c: char) -> bool {
    GLYPHS.iter().any(|g| g.0 == c)
}

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: i32) -> i32 {
    let n = text.chars().count() as i32;
    (n * 6 - 1).max(0) * scale
}

/// Height of a line of text at `scale`, descenders included.
fn text_height(scale: i32) -> i32 {
    ROWS as i32 * scale
}

#[derive(Clone, Copy)]
enum Dir {
    /// Left to right; (x, y) is the top-left corner.
    Right,
    /// Bottom to top (rotated a quarter turn anticlockwise); (x, y) is the bottom-left.
    Up,
}

fn draw_text(
    area: &Area,
    text: &str,
    (x, y): (i32, i32),
    scale: i32,
    ink: RGBColor,
    dir: Dir,
) -> Result<(), String> {
    for (i, ch) in text.chars().enumerate() {
        let rows = glyph(ch).unwrap_or(BOX);
        for (r, bits) in rows.iter().enumerate() {
            for c in 0..5 {
                if bits & (16 >> c) == 0 {
                    continue;
                }
                let u = i as i32 * 6 + c;
                let (px, py) = match dir {
                    Dir::Right => (x + u * scale, y + r as i32 * scale),
                    Dir::Up => (x + r as i32 * scale, y - (u + 1) * scale),
                };
                for dy in 0..scale {
                    for dx in 0..scale {
                        area.draw_pixel((px + dx, py + dy), &ink).map_err(fail)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Draws `text` centred on `cx` with its top at `y`.
fn text_centred(area: &Area, text: &str, cx: i32, y: i32, scale: i32) -> Result<(), String> {
    let x = cx - text_width(text, scale) / 2;
    draw_text(area, text, (x, y), scale, TEXT, Dir::Right)
}

/// Draws the title centred at the top: scale 3 when it fits, else 2.
fn draw_title(area: &Area, title: &str) -> Result<(), String> {
    let scale = if text_width(title, 3) <= W - 20 { 3 } else { 2 };
    text_centred(area, title, W / 2, 12, scale)
}

/// Splits `text` at spaces into at most `max_lines` lines no wider than `max_w`; a line
/// that still does not fit is cut and ends in "..".
fn wrap(text: &str, max_w: i32, scale: i32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(l) if text_width(&format!("{l} {word}"), scale) <= max_w => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.len() > max_lines {
        let rest = lines.split_off(max_lines - 1).join(" ");
        lines.push(rest);
    }
    for l in &mut lines {
        if text_width(l, scale) > max_w {
            let mut cut: String = l.clone();
            while !cut.is_empty() && text_width(&format!("{cut}.."), scale) > max_w {
                cut.pop();
            }
            *l = format!("{cut}..");
        }
    }
    lines
}

// ---------------------------------------------------------------------------------------
// Axes

/// Widens an empty or degenerate range so it can be drawn.
fn pad_range(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo <= 1e-12 * lo.abs().max(hi.abs()) || hi == lo {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

/// A round axis covering [lo, hi]: (first tick, last tick, step), with 5 to 8 ticks
/// where any step of 1, 2, 2.5 or 5 times a power of ten gives that many.
fn nice_axis(lo: f64, hi: f64) -> (f64, f64, f64) {
    let (lo, hi) = pad_range(lo, hi);
    let span = hi - lo;
    let e0 = span.log10().floor() as i32;
    let mut best = (f64::MAX, lo, hi, span);
    for e in (e0 - 2)..=(e0 + 1) {
        for m in [1.0, 2.0, 2.5, 5.0] {
            let step = m * 10f64.powi(e);
            let a = (lo / step + 1e-9).floor() * step;
            let b = (hi / step - 1e-9).ceil() * step;
            let n = ((b - a) / step).round() + 1.0;
            let waste = ((b - a) - span) / span;
            let mut score = (n - 6.0).abs() + 3.0 * waste;
            if !(5.0..=8.0).contains(&n) {
                score += 100.0;
            }
            if score < best.0 {
                best = (score, a, b, step);
            }
        }
    }
    (best.1, best.2, best.3)
}

/// Tick values from `a` to `b` by `step`.
fn ticks(a: f64, b: f64, step: f64) -> Vec<f64> {
    let n = ((b - a) / step).round() as usize;
    (0..=n).map(|k| a + k as f64 * step).collect()
}

/// A tick value printed with as many decimals as `step` needs (scientific notation for
/// very large or very small values).
fn tick_label(v: f64, step: f64, max_abs: f64) -> String {
    if v.abs() < step * 1e-6 {
        return "0".into();
    }
    let e_step = (step.log10() + 1e-9).floor() as i32;
    let quarter = (step / 10f64.powi(e_step) - 2.5).abs() < 1e-6;
    if max_abs >= 1e6 || step < 1e-4 {
        let e_max = (max_abs.log10() + 1e-9).floor() as i32;
        let prec = (e_max - e_step + i32::from(quarter)).clamp(0, 4) as usize;
        format!("{v:.prec$e}")
    } else {
        let d = if quarter { 1 - e_step } else { -e_step }.max(0) as usize;
        format!("{v:.d$}")
    }
}

/// Each tick of an axis with its label.
fn tick_labels(a: f64, b: f64, step: f64) -> Vec<(f64, String)> {
    let max_abs = a.abs().max(b.abs());
    ticks(a, b, step)
        .into_iter()
        .map(|v| (v, tick_label(v, step, max_abs)))
        .collect()
}

/// The pixel rectangle of the plot and its value ranges.
struct Frame {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn px(&self, x: f64) -> i32 {
        let t = (x - self.x.0) / (self.x.1 - self.x.0);
        self.left + (t * (self.right - self.left) as f64).round() as i32
    }
    fn py(&self, y: f64) -> i32 {
        let t = (y - self.y.0) / (self.y.1 - self.y.0);
        self.bottom - (t * (self.bottom - self.top) as f64).round() as i32
    }
    fn map(&self, (x, y): (f64, f64)) -> (i32, i32) {
        (self.px(x), self.py(y))
    }
}

/// Left margin for y tick labels of width `tick_w` and a rotated axis name.
fn left_margin(tick_w: i32) -> i32 {
    10 + text_height(2) + 10 + tick_w + 10
}

/// Grid lines and labels at the y ticks, the y axis name, and the frame.
fn draw_y_axis(
    area: &Area,
    f: &Frame,
    y_ticks: &[(f64, String)],
    y_label: &str,
) -> Result<(), String> {
    for (v, label) in y_ticks {
        let y = f.py(*v);
        area.draw(&PathElement::new(vec![(f.left, y), (f.right, y)], GRID))
            .map_err(fail)?;
        area.draw(&PathElement::new(vec![(f.left - 5, y), (f.left, y)], FRAME))
            .map_err(fail)?;
        let x = f.left - 9 - text_width(label, 2);
        draw_text(area, label, (x, y - 7), 2, TEXT, Dir::Right)?;
    }
    let cy = (f.top + f.bottom) / 2 + text_width(y_label, 2) / 2;
    draw_text(area, y_label, (10, cy.min(H - 4)), 2, TEXT, Dir::Up)
}

fn draw_frame(area: &Area, f: &Frame) -> Result<(), String> {
    let (l, t, r, b) = (f.left, f.top, f.right, f.bottom);
    area.draw(&PathElement::new(
        vec![(l, t), (r, t), (r, b), (l, b), (l, t)],
        FRAME,
    ))
    .map_err(fail)
}

// ---------------------------------------------------------------------------------------
// Legend

#[derive(Clone, Copy)]
enum Swatch {
    Faint,
    Line,
    LineMarker,
    Block,
}

struct Entry {
    label: String,
    colour: RGBColor,
    swatch: Swatch,
}

const SWATCH_W: i32 = 28;
const ROW_H: i32 = 22;

fn entry_width(e: &Entry) -> i32 {
    SWATCH_W + 8 + text_width(&e.label, 2)
}

fn draw_entry(area: &Area, e: &Entry, x: i32, y: i32) -> Result<(), String> {
    let mid = y + 7;
    let seg = vec![(x, mid), (x + SWATCH_W, mid)];
    match e.swatch {
        Swatch::Faint => area.draw(&PathElement::new(seg, e.colour.mix(0.35).stroke_width(2))),
        Swatch::Line => area.draw(&PathElement::new(seg, e.colour.stroke_width(2))),
        Swatch::LineMarker => {
            area.draw(&PathElement::new(seg, e.colour.stroke_width(2)))
                .map_err(fail)?;
            area.draw(&Circle::new((x + SWATCH_W / 2, mid), 3, e.colour.filled()))
        }
        Swatch::Block => area.draw(&Rectangle::new(
            [(x + 6, y), (x + SWATCH_W - 6, y + 15)],
            e.colour.filled(),
        )),
    }
    .map_err(fail)?;
    draw_text(area, &e.label, (x + SWATCH_W + 8, y), 2, TEXT, Dir::Right)
}

fn draw_box(area: &Area, (x, y): (i32, i32), (w, h): (i32, i32)) -> Result<(), String> {
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], WHITE.filled()))
        .map_err(fail)?;
    area.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        RGBColor(170, 170, 170).stroke_width(1),
    ))
    .map_err(fail)
}

/// Size of a legend with one entry per row.
fn column_size(entries: &[Entry]) -> (i32, i32) {
    let w = entries.iter().map(entry_width).max().unwrap_or(0) + 20;
    (w, entries.len() as i32 * ROW_H + 12)
}

fn draw_column(area: &Area, entries: &[Entry], (x, y): (i32, i32)) -> Result<(), String> {
    draw_box(area, (x, y), column_size(entries))?;
    for (i, e) in entries.iter().enumerate() {
        draw_entry(area, e, x + 10, y + 9 + i as i32 * ROW_H)?;
    }
    Ok(())
}

/// Entries laid out left to right in rows no wider than `max_w`: (x offset, row) of each.
fn flow(entries: &[Entry], max_w: i32) -> (Vec<(i32, i32)>, i32, i32) {
    let (mut x, mut row, mut widest) = (0, 0, 0);
    let mut at = Vec::new();
    for e in entries {
        let w = entry_width(e);
        if x > 0 && x + w > max_w {
            x = 0;
            row += 1;
        }
        at.push((x, row));
        x += w + 24;
        widest = widest.max(x - 24);
    }
    let rows = if entries.is_empty() { 0 } else { row + 1 };
    (at, widest + 20, rows * ROW_H + 12)
}

// ---------------------------------------------------------------------------------------
// Line charts

/// One curve of a chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub points: &'a [(f64, f64)],
    /// Drawn faint with a smoothed line over it ([`smooth`]).
    pub smooth: bool,
}

impl<'a> Series<'a> {
    /// A noisy per-step curve: drawn faint, with a centred moving mean ([`smooth`]) drawn
    /// solid over it in the same colour; the legend names the smoothing.
    pub fn noisy(label: &'a str, points: &'a [(f64, f64)]) -> Self {
        Series {
            label,
            points,
            smooth: true,
        }
    }

    /// A plain solid line (with point markers when there are few points).
    pub fn line(label: &'a str, points: &'a [(f64, f64)]) -> Self {
        Series {
            label,
            points,
            smooth: false,
        }
    }
}

/// Half-width of the centred window [`smooth`] uses for `n` points: 0 (no smoothing) under
/// 10 points, then n/20 between 1 and 50.
pub fn smooth_half_width(n: usize) -> usize {
    if n < 10 {
        0
    } else {
        (n / 20).clamp(1, 50)
    }
}

/// Centred moving mean of the y values over `2 * smooth_half_width(n) + 1` points (fewer at
/// the ends), x unchanged; non-finite y values are left out of the means. Same length as
/// `points`, and every value lies within the range of the finite inputs.
pub fn smooth(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let w = smooth_half_width(points.len());
    let mut sum = vec![0.0; points.len() + 1];
    let mut cnt = vec![0usize; points.len() + 1];
    for (i, &(_, y)) in points.iter().enumerate() {
        let ok = y.is_finite();
        sum[i + 1] = sum[i] + if ok { y } else { 0.0 };
        cnt[i + 1] = cnt[i] + usize::from(ok);
    }
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            let (lo, hi) = (i.saturating_sub(w), (i + w + 1).min(points.len()));
            let n = cnt[hi] - cnt[lo];
            if n == 0 {
                (x, y)
            } else {
                (x, (sum[hi] - sum[lo]) / n as f64)
            }
        })
        .collect()
}

/// Few enough points to mark each one.
const MARK_MAX: usize = 40;

/// How many points sampled every 4 pixels along `lines` (pixel polylines) fall in or near
/// the rectangle at `(x, y)` of size `(w, h)`.
fn covered(lines: &[Vec<(i32, i32)>], (x, y): (i32, i32), (w, h): (i32, i32)) -> usize {
    let inside = |p: (f64, f64)| {
        p.0 >= (x - 4) as f64
            && p.0 <= (x + w + 4) as f64
            && p.1 >= (y - 4) as f64
            && p.1 <= (y + h + 4) as f64
    };
    let mut n = 0;
    for line in lines {
        for (k, p) in line.iter().enumerate() {
            let q = line.get(k + 1).unwrap_or(p);
            let (dx, dy) = ((q.0 - p.0) as f64, (q.1 - p.1) as f64);
            let steps = ((dx.hypot(dy) / 4.0).ceil() as usize).max(1);
            for s in 0..steps {
                let t = s as f64 / steps as f64;
                n += usize::from(inside((p.0 as f64 + t * dx, p.1 as f64 + t * dy)));
            }
        }
    }
    n
}

/// A line chart: the title at the top, x and y axis names, 5 to 8 ticks on each axis with
/// values, and a legend box naming each series by colour (placed in the plot corner, or
/// halfway down a side, where it hides the fewest points). Non-finite points are skipped;
/// a single point or all-equal values get a padded range. Writes an 800x500 PNG.
pub fn chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), String> {
    struct Curve {
        raw: Vec<(f64, f64)>,
        smooth: Option<(Vec<(f64, f64)>, usize)>,
    }
    let curves: Vec<Curve> = series
        .iter()
        .map(|s| {
            let raw: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let w = smooth_half_width(raw.len());
            let smooth = (s.smooth && w > 0).then(|| (smooth(&raw), 2 * w + 1));
            Curve { raw, smooth }
        })
        .collect();
    let all = || curves.iter().flat_map(|c| c.raw.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let empty = all().next().is_none();
    if empty {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    let (xa, xb, xs) = nice_axis(x0, x1);
    let (ya, yb, ys) = nice_axis(y0, y1);
    let x_ticks = tick_labels(xa, xb, xs);
    let y_ticks = tick_labels(ya, yb, ys);
    let tick_w = y_ticks
        .iter()
        .map(|t| text_width(&t.1, 2))
        .max()
        .unwrap_or(0);
    let f = Frame {
        left: left_margin(tick_w),
        top: 56,
        right: W - 30,
        bottom: H - 66,
        x: (xa, xb),
        y: (ya, yb),
    };

    let root = BitMapBackend::new(path, (W as u32, H as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    draw_title(&root, title)?;
    draw_y_axis(&root, &f, &y_ticks, y_label)?;
    for (v, label) in &x_ticks {
        let x = f.px(*v);
        root.draw(&PathElement::new(vec![(x, f.top), (x, f.bottom)], GRID))
            .map_err(fail)?;
        root.draw(&PathElement::new(
            vec![(x, f.bottom), (x, f.bottom + 5)],
            FRAME,
        ))
        .map_err(fail)?;
        text_centred(&root, label, x, f.bottom + 10, 2)?;
    }
    text_centred(&root, x_label, (f.left + f.right) / 2, f.bottom + 36, 2)?;
    draw_frame(&root, &f)?;
    if empty {
        text_centred(
            &root,
            "no data",
            (f.left + f.right) / 2,
            (f.top + f.bottom) / 2,
            2,
        )?;
    }

    // Faint raw curves first, then every solid line over them.
    let mut lines: Vec<Vec<(i32, i32)>> = Vec::new();
    for (i, c) in curves.iter().enumerate() {
        if c.smooth.is_some() && !c.raw.is_empty() {
            let px: Vec<(i32, i32)> = c.raw.iter().map(|&p| f.map(p)).collect();
            root.draw(&PathElement::new(
                px.clone(),
                colour(i).mix(0.3).stroke_width(1),
            ))
            .map_err(fail)?;
            lines.push(px);
        }
    }
    let mut entries = Vec::new();
    for (i, (c, s)) in curves.iter().zip(series).enumerate() {
        let col = colour(i);
        if c.raw.is_empty() {
            entries.push(Entry {
                label: format!("{} (no data)", s.label),
                colour: col,
                swatch: Swatch::Line,
            });
            continue;
        }
        if let Some((sm, window)) = &c.smooth {
            let px: Vec<(i32, i32)> = sm.iter().map(|&p| f.map(p)).collect();
            root.draw(&PathElement::new(px.clone(), col.stroke_width(2)))
                .map_err(fail)?;
            lines.push(px);
            entries.push(Entry {
                label: format!("{}, raw", s.label),
                colour: col,
                swatch: Swatch::Faint,
            });
            entries.push(Entry {
                label: format!("{}, {window}-point mean", s.label),
                colour: col,
                swatch: Swatch::Line,
            });
        } else {
            let px: Vec<(i32, i32)> = c.raw.iter().map(|&p| f.map(p)).collect();
            root.draw(&PathElement::new(px.clone(), col.stroke_width(2)))
                .map_err(fail)?;
            let marked = c.raw.len() <= MARK_MAX;
            if marked {
                for &p in &px {
                    root.draw(&Circle::new(p, 3, col.filled())).map_err(fail)?;
                }
            }
            lines.push(px);
            entries.push(Entry {
                label: s.label.to_string(),
                colour: col,
                swatch: if marked {
                    Swatch::LineMarker
                } else {
                    Swatch::Line
                },
            });
        }
    }
    if !entries.is_empty() {
        let size = column_size(&entries);
        let (l, t, r, b) = (f.left + 10, f.top + 10, f.right - 10, f.bottom - 10);
        // The corners first (ties go to them), then halfway down either side.
        let mid = (t + b - size.1) / 2;
        let corners = [
            (r - size.0, t),
            (l, t),
            (r - size.0, b - size.1),
            (l, b - size.1),
            (r - size.0, mid),
            (l, mid),
        ];
        let best = corners
            .iter()
            .copied()
            .min_by_key(|&at| covered(&lines, at, size))
            .unwrap_or(corners[0]);
        draw_column(&root, &entries, best)?;
    }
    root.present().map_err(fail)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Bars

/// Grouped bars: `values[group][series]`, with optional error half-widths
/// `err[group][series]` drawn as black whiskers; group names under each group, a legend
/// naming the series above the plot, the y axis name and ticks (range 0 to
/// max(1, max of value + error)), and each bar's value above it where the bar is wide
/// enough. Non-finite values draw no bar. Writes an 800x500 PNG.
pub fn bars(
    path: &Path,
    title: &str,
    y_label: &str,
    groups: &[String],
    series: &[String],
    values: &[Vec<f64>],
    err: Option<&[Vec<f64>]>,
) -> Result<(), String> {
    let half = |g: usize, s: usize| -> f64 {
        err.and_then(|e| e.get(g))
            .and_then(|r| r.get(s))
            .copied()
            .filter(|h| h.is_finite() && *h > 0.0)
            .unwrap_or(0.0)
    };
    let n_groups = values.len().max(groups.len()).max(1);
    let n_series = values
        .iter()
        .map(Vec::len)
        .chain([series.len()])
        .max()
        .unwrap_or(0)
        .max(1);
    let mut top = 1.0f64;
    for (g, row) in values.iter().enumerate() {
        for (s, v) in row.iter().enumerate() {
            if v.is_finite() {
                top = top.max(v + half(g, s));
            }
        }
    }
    let (_, yb, ys) = nice_axis(0.0, top);
    let y_ticks = tick_labels(0.0, yb, ys);
    let tick_w = y_ticks
        .iter()
        .map(|t| text_width(&t.1, 2))
        .max()
        .unwrap_or(0);

    let entries: Vec<Entry> = (0..n_series)
        .map(|s| Entry {
            label: series
                .get(s)
                .cloned()
                .unwrap_or_else(|| format!("series {}", s + 1)),
            colour: colour(s),
            swatch: Swatch::Block,
        })
        .collect();
    let (at, legend_w, legend_h) = flow(&entries, W - 60);
    let legend_y = 50;
    let left = left_margin(tick_w);
    let f = Frame {
        left,
        top: legend_y + legend_h + 24,
        right: W - 30,
        bottom: H - 62,
        x: (0.0, n_groups as f64),
        y: (0.0, yb),
    };

    let root = BitMapBackend::new(path, (W as u32, H as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    draw_title(&root, title)?;
    draw_y_axis(&root, &f, &y_ticks, y_label)?;

    let slot = (f.right - f.left) as f64 / n_groups as f64;
    let bar = slot * 0.8 / n_series as f64;
    let mut value_labels: Vec<(String, i32, i32, i32)> = Vec::new();
    for g in 0..n_groups {
        let gx = f.left as f64 + g as f64 * slot;
        let name = groups.get(g).map_or(String::new(), |s| s.clone());
        for (k, line) in wrap(&name, slot as i32 - 8, 2, 2).iter().enumerate() {
            let cx = (gx + slot / 2.0).round() as i32;
            text_centred(&root, line, cx, f.bottom + 10 + k as i32 * 20, 2)?;
        }
        let row = values.get(g).map_or(&[][..], |r| &r[..]);
        for (s, &v) in row.iter().enumerate() {
            if !v.is_finite() {
                continue;
            }
            let x0 = gx + slot * 0.1 + s as f64 * bar;
            let (bx0, bx1) = (
                (x0 + bar * 0.06).round() as i32,
                (x0 + bar * 0.94).round() as i32,
            );
            let vy = f.py(v.clamp(0.0, yb));
            root.draw(&Rectangle::new(
                [(bx0, vy), (bx1, f.bottom)],
                colour(s).filled(),
            ))
            .map_err(fail)?;
            let h = half(g, s);
            let mut label_y = vy;
            if h > 0.0 {
                let xm = (x0 + bar * 0.5).round() as i32;
                let cap = ((bar * 0.2) as i32).clamp(2, 8);
                let (lo, hi) = (f.py((v - h).clamp(0.0, yb)), f.py((v + h).clamp(0.0, yb)));
                let style = BLACK.stroke_width(2);
                for seg in [
                    vec![(xm, lo), (xm, hi)],
                    vec![(xm - cap, lo), (xm + cap, lo)],
                    vec![(xm - cap, hi), (xm + cap, hi)],
                ] {
                    root.draw(&PathElement::new(seg, style)).map_err(fail)?;
                }
                label_y = label_y.min(hi);
            }
            let text = format!("{v:.2}");
            // The value above the bar (and its whisker), at the largest scale that fits.
            if let Some(scale) = [2, 1]
                .into_iter()
                .find(|&k| text_width(&text, k) + 4 <= bx1 - bx0)
            {
                let y = label_y - 4 - 7 * scale;
                value_labels.push((text, (bx0 + bx1) / 2, y, scale));
            }
        }
    }
    root.draw(&PathElement::new(
        vec![(f.left, f.bottom), (f.right, f.bottom)],
        FRAME,
    ))
    .map_err(fail)?;
    draw_frame(&root, &f)?;
    // On a white patch, so frame and grid lines do not run through the digits.
    for (text, cx, y, scale) in &value_labels {
        let x = cx - text_width(text, *scale) / 2;
        let patch = [
            (x - 2, y - 2),
            (x + text_width(text, *scale) + 2, y + 7 * scale + 2),
        ];
        root.draw(&Rectangle::new(patch, WHITE.filled()))
            .map_err(fail)?;
        draw_text(&root, text, (x, *y), *scale, TEXT, Dir::Right)?;
    }

    let lx = (W - legend_w) / 2;
    draw_box(&root, (lx, legend_y), (legend_w, legend_h))?;
    for (e, &(dx, row)) in entries.iter().zip(&at) {
        draw_entry(&root, e, lx + 10 + dx, legend_y + 9 + row * ROW_H)?;
    }
    root.present().map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("verigym-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    /// Width and height from a PNG's IHDR.
    fn png_size(path: &Path) -> (u32, u32) {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[1..4], b"PNG");
        let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        (be(16), be(20))
    }

    #[test]
    fn chart_writes_an_800x500_png() {
        let noisy: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                (
                    i as f64,
                    (i as f64 / 30.0).sin() + if i % 2 == 0 { 0.3 } else { -0.3 },
                )
            })
            .collect();
        let val: Vec<(f64, f64)> = (0..10).map(|i| (i as f64 * 20.0, 0.1 * i as f64)).collect();
        let p = tmp("chart.png");
        chart(
            &p,
            "SFT: next-token loss",
            "step",
            "loss (nats/token)",
            &[
                Series::noisy("train", &noisy),
                Series::line("validation", &val),
            ],
        )
        .unwrap();
        assert_eq!(png_size(&p), (800, 500));
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn chart_survives_degenerate_input() {
        let one = [(3.0, 2.0)];
        let flat = [
            (0.0, 5.0),
            (1.0, 5.0),
            (2.0, f64::NAN),
            (f64::INFINITY, 1.0),
        ];
        let tiny = [(0.0, 3e-6), (1.0, 3e-6), (2.0, 3.1e-6)];
        for (k, s) in [
            vec![Series::line("one", &one)],
            vec![Series::noisy("flat", &flat)],
            vec![Series::line("lr", &tiny)],
            vec![Series::noisy("empty", &[])],
            vec![],
        ]
        .iter()
        .enumerate()
        {
            let p = tmp(&format!("degenerate-{k}.png"));
            chart(&p, "degenerate", "x", "y", s).unwrap();
            assert_eq!(png_size(&p), (800, 500));
            let _ = std::fs::remove_file(p);
        }
    }

    #[test]
    fn bars_write_an_800x500_png() {
        let p = tmp("bars.png");
        let groups: Vec<String> = ["1 digit", "2 digits", "3 digits"].map(String::from).into();
        let series: Vec<String> = ["direct answer", "chain of thought"]
            .map(String::from)
            .into();
        bars(
            &p,
            "tokens-to-think: held-out accuracy by problem size",
            "accuracy (fraction)",
            &groups,
            &series,
            &[vec![0.9, 1.0], vec![0.4, 0.95], vec![0.1, f64::NAN]],
            Some(&[vec![0.05, 0.02], vec![0.1, 0.1]]),
        )
        .unwrap();
        assert_eq!(png_size(&p), (800, 500));
        bars(&p, "", "", &[], &[], &[], None).unwrap();
        assert_eq!(png_size(&p), (800, 500));
        let _ = std::fs::remove_file(p);
    }

    #[test]
    fn smoothing_keeps_length_and_range_and_cuts_variance() {
        let pts: Vec<(f64, f64)> = (0..100)
            .map(|i| (i as f64, if i % 2 == 0 { 1.0 } else { 0.0 }))
            .collect();
        let s = smooth(&pts);
        assert_eq!(s.len(), pts.len());
        assert!(s.iter().zip(&pts).all(|(a, b)| a.0 == b.0));
        assert!(s.iter().all(|p| (0.0..=1.0).contains(&p.1)));
        let var = |v: &[(f64, f64)]| {
            let m = v.iter().map(|p| p.1).sum::<f64>() / v.len() as f64;
            v.iter().map(|p| (p.1 - m).powi(2)).sum::<f64>() / v.len() as f64
        };
        assert!(var(&s) < var(&pts) / 10.0, "{} vs {}", var(&s), var(&pts));
        assert!(smooth(&[]).is_empty());
        assert_eq!(smooth(&pts[..3]), pts[..3].to_vec());
    }

    #[test]
    fn axes_have_5_to_8_round_ticks() {
        for (lo, hi) in [
            (0.0, 1.0),
            (0.0, 0.93),
            (1.0, 37.0),
            (0.0, 499.0),
            (-0.02, 0.013),
            (2.9e-6, 3.1e-6),
            (5.0, 5.0),
            (0.0, 0.0),
            (1e3, 2.5e5),
        ] {
            let (a, b, step) = nice_axis(lo, hi);
            let n = ticks(a, b, step).len();
            assert!((5..=8).contains(&n), "{lo}..{hi}: {n} ticks");
            assert!(a <= lo && b >= hi && a < b, "{lo}..{hi}: {a}..{b}");
        }
        assert_eq!(tick_label(0.25, 0.25, 1.0), "0.25");
        assert_eq!(tick_label(40.0, 20.0, 100.0), "40");
        assert_eq!(tick_label(1e-6, 5e-7, 3e-6), "1.0e-6");
        assert_eq!(tick_label(-1e-17, 0.1, 1.0), "0");
    }

    #[test]
    fn the_font_covers_letters_digits_and_punctuation() {
        let supported = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 \
                         .,:;-+=_/\\()[]<>%*!?'\"#&|~^@$±×";
        for c in supported.chars() {
            assert!(has_glyph(c), "no glyph for {c:?}");
            assert!(glyph(c).is_some());
        }
        // Every glyph is 5 columns wide and at most 9 rows tall.
        for (c, art) in GLYPHS {
            let rows: Vec<&str> = art.split_whitespace().collect();
            assert!(rows.len() <= ROWS, "{c:?}");
            assert!(rows.iter().all(|r| r.len() == 5), "{c:?}");
        }
        // Unknown characters draw as a box instead of failing.
        assert!(!has_glyph('é'));
        let p = tmp("unknown.png");
        chart(&p, "café ☃", "x", "y", &[]).unwrap();
        let _ = std::fs::remove_file(p);
        assert_eq!(text_width("", 2), 0);
        assert_eq!(text_width("ab", 2), 22);
    }
}
