//! PNG line plots of run curves with `plotters`' bitmap backend. No font dependency: the
//! title, axis ranges and tick values are drawn with a built-in 3x5 pixel font, so plots
//! render the same on any machine (no system fonts, no font-kit).

use plotters::prelude::*;
use std::path::Path;

/// 3x5 glyphs, one row per u8 (bits 2..0, left to right).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 3, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        '-' => [0, 0, 7, 0, 0],
        '_' => [0, 0, 0, 0, 7],
        ':' => [0, 2, 0, 2, 0],
        '/' => [1, 1, 2, 4, 4],
        ' ' => [0, 0, 0, 0, 0],
        'a' => [2, 5, 7, 5, 5],
        'b' => [6, 5, 6, 5, 6],
        'c' => [7, 4, 4, 4, 7],
        'd' => [6, 5, 5, 5, 6],
        'e' => [7, 4, 6, 4, 7],
        'f' => [7, 4, 6, 4, 4],
        'g' => [7, 4, 5, 5, 7],
        'h' => [5, 5, 7, 5, 5],
        'i' => [7, 2, 2, 2, 7],
        'j' => [1, 1, 1, 5, 7],
        'k' => [5, 5, 6, 5, 5],
        'l' => [4, 4, 4, 4, 7],
        'm' => [5, 7, 7, 5, 5],
        'n' => [6, 5, 5, 5, 5],
        'o' => [7, 5, 5, 5, 7],
        'p' => [7, 5, 7, 4, 4],
        'q' => [7, 5, 5, 7, 1],
        'r' => [6, 5, 6, 5, 5],
        's' => [7, 4, 7, 1, 7],
        't' => [7, 2, 2, 2, 2],
        'u' => [5, 5, 5, 5, 7],
        'v' => [5, 5, 5, 5, 2],
        'w' => [5, 5, 7, 7, 5],
        'x' => [5, 5, 2, 5, 5],
        'y' => [5, 5, 2, 2, 2],
        'z' => [7, 1, 2, 4, 7],
        _ => return None,
    })
}

/// Draws `text` with its top-left at (x, y), `scale` pixels per font pixel.
fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    x: i32,
    y: i32,
    scale: i32,
) -> Result<(), String> {
    let mut cx = x;
    for ch in text.chars().flat_map(|c| c.to_lowercase()) {
        let rows = glyph(ch).unwrap_or([7, 5, 5, 5, 7]);
        for (r, bits) in rows.iter().enumerate() {
            for b in 0..3 {
                if bits & (4 >> b) != 0 {
                    let (px, py) = (cx + b * scale, y + r as i32 * scale);
                    area.draw(&Rectangle::new(
                        [(px, py), (px + scale - 1, py + scale - 1)],
                        BLACK.filled(),
                    ))
                    .map_err(|e| e.to_string())?;
                }
            }
        }
        cx += 4 * scale;
    }
    Ok(())
}

fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e4 || x.abs() < 1e-3 {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    }
}

/// Writes a 640x400 PNG of `points` (x, y) with `title`; non-finite points are skipped.
pub fn line_plot(path: &Path, title: &str, points: &[(f64, f64)]) -> Result<(), String> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let root = BitMapBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    draw_text(&root, title, 10, 8, 3)?;
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if pts.is_empty() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1e-12 {
        x1 = x0 + 1.0;
    }
    if y1 - y0 < 1e-12 {
        y0 -= 0.5;
        y1 += 0.5;
    }
    let (left, top, right, bottom) = (70i32, 32i32, 620i32, 370i32);
    draw_text(&root, &fmt_num(y1), 4, top, 2)?;
    draw_text(&root, &fmt_num(y0), 4, bottom - 10, 2)?;
    draw_text(&root, &fmt_num(x0), left, bottom + 8, 2)?;
    let xs = fmt_num(x1);
    draw_text(&root, &xs, right - 8 * xs.len() as i32, bottom + 8, 2)?;
    let plot = root.margin(top as u32, 30, left as u32, 20);
    let mut chart = ChartBuilder::on(&plot)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| e.to_string())?;
    let frame = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
    chart
        .draw_series(LineSeries::new(frame, BLACK.stroke_width(1)))
        .map_err(|e| e.to_string())?;
    for k in 1..4 {
        let y = y0 + (y1 - y0) * k as f64 / 4.0;
        chart
            .draw_series(LineSeries::new([(x0, y), (x1, y)], RGBColor(220, 220, 220)))
            .map_err(|e| e.to_string())?;
    }
    chart
        .draw_series(LineSeries::new(pts, BLUE.stroke_width(2)))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_with_text_and_a_line() {
        let dir = std::env::temp_dir().join(format!("verigym-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("reward.png");
        let pts: Vec<(f64, f64)> = (0..50)
            .map(|i| (i as f64, (i as f64 / 10.0).sin()))
            .collect();
        line_plot(&p, "reward_mean", &pts).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        line_plot(&dir.join("empty.png"), "empty", &[]).unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }
}
