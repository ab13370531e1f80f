//! Grouped bar charts and multi-series line charts for the experiments' PNGs (plotters'
//! bitmap backend, no fonts: the markdown beside each PNG names the colours and axes).

use plotters::prelude::*;
use std::path::Path;

/// Series colours, in order (the markdown legends use these names).
pub const COLOURS: [(&str, RGBColor); 4] = [
    ("grey", RGBColor(150, 150, 150)),
    ("blue", RGBColor(31, 119, 180)),
    ("orange", RGBColor(255, 127, 14)),
    ("green", RGBColor(44, 160, 44)),
];

fn colour(i: usize) -> RGBColor {
    COLOURS.get(i % COLOURS.len()).map_or(BLACK, |c| c.1)
}

/// Grouped bars: `values[group][series]` in [0, 1], with a black tick at each `err` half
/// width when given; y from 0 to 1 with grid lines every 0.1.
pub fn bars(path: &Path, values: &[Vec<f64>], err: Option<&[Vec<f64>]>) -> Result<(), String> {
    let e = |x: DrawingAreaErrorKind<_>| x.to_string();
    let root = BitMapBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let groups = values.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root.margin(20, 20, 20, 20))
        .build_cartesian_2d(0.0..groups, 0.0..1.0)
        .map_err(|x| x.to_string())?;
    for k in 0..=10 {
        let y = k as f64 / 10.0;
        let c = if k == 0 || k == 10 {
            BLACK
        } else {
            RGBColor(225, 225, 225)
        };
        chart
            .draw_series(LineSeries::new([(0.0, y), (groups, y)], c))
            .map_err(|x| x.to_string())?;
    }
    for (g, series) in values.iter().enumerate() {
        let n = series.len().max(1) as f64;
        let w = 0.8 / n;
        for (s, &v) in series.iter().enumerate() {
            let x0 = g as f64 + 0.1 + s as f64 * w;
            let v = if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, 0.0), (x0 + w * 0.9, v)],
                    colour(s).filled(),
                )))
                .map_err(|x| x.to_string())?;
            if let Some(h) = err.and_then(|e| e.get(g)).and_then(|r| r.get(s)) {
                let xm = x0 + w * 0.45;
                let (lo, hi) = ((v - h).max(0.0), (v + h).min(1.0));
                chart
                    .draw_series(LineSeries::new([(xm, lo), (xm, hi)], BLACK.stroke_width(2)))
                    .map_err(|x| x.to_string())?;
            }
        }
    }
    root.present().map_err(e)?;
    Ok(())
}

/// Lines: `series[i]` is a list of (x, y) with y in [0, 1], drawn in colour i.
pub fn lines(path: &Path, series: &[Vec<(f64, f64)>]) -> Result<(), String> {
    let root = BitMapBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| x.to_string())?;
    let xs = series.iter().flatten().map(|p| p.0);
    let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (x0, x1) = if x0 < x1 { (x0, x1) } else { (0.0, 1.0) };
    let mut chart = ChartBuilder::on(&root.margin(20, 20, 20, 20))
        .build_cartesian_2d(x0..x1, 0.0..1.0)
        .map_err(|x| x.to_string())?;
    for k in 0..=10 {
        let y = k as f64 / 10.0;
        let c = if k == 0 || k == 10 {
            BLACK
        } else {
            RGBColor(225, 225, 225)
        };
        chart
            .draw_series(LineSeries::new([(x0, y), (x1, y)], c))
            .map_err(|x| x.to_string())?;
    }
    for (i, s) in series.iter().enumerate() {
        chart
            .draw_series(LineSeries::new(
                s.iter().copied(),
                colour(i).stroke_width(3),
            ))
            .map_err(|x| x.to_string())?;
        chart
            .draw_series(s.iter().map(|&p| Circle::new(p, 4, colour(i).filled())))
            .map_err(|x| x.to_string())?;
    }
    root.present().map_err(|x| x.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pngs() {
        let dir = std::env::temp_dir().join(format!("verigym-xplot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        bars(
            &dir.join("b.png"),
            &[vec![0.5, 0.9], vec![0.2, 1.2]],
            Some(&[vec![0.1, 0.0]]),
        )
        .unwrap();
        lines(&dir.join("l.png"), &[vec![(1.0, 0.2), (2.0, 0.4)], vec![]]).unwrap();
        assert_eq!(&std::fs::read(dir.join("b.png")).unwrap()[1..4], b"PNG");
        assert_eq!(&std::fs::read(dir.join("l.png")).unwrap()[1..4], b"PNG");
        let _ = std::fs::remove_dir_all(dir);
    }
}
