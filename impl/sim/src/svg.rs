//! A minimal hand-written SVG line chart (no dependencies).

use std::fmt::Write as _;

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points `(x, y)`.
    pub points: Vec<(f64, f64)>,
    /// Dashed line (for predictions).
    pub dashed: bool,
}

/// A chart with linear axes.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Lines.
    pub series: Vec<Series>,
    /// Logarithmic y axis (base 10).
    pub log_y: bool,
    /// Text under the chart (the command that regenerates it).
    pub caption: String,
}

const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Chart {
    /// Renders the chart as an SVG document.
    pub fn render(&self) -> String {
        let (w, h) = (720.0, 460.0);
        let (l, r, t, b) = (70.0, 190.0, 40.0, 80.0);
        let ty = |y: f64| if self.log_y { y.max(1e-12).log10() } else { y };
        let pts = || self.series.iter().flat_map(|s| s.points.iter());
        let x0 = pts().map(|p| p.0).fold(f64::INFINITY, f64::min);
        let x1 = pts().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let mut y0 = pts().map(|p| ty(p.1)).fold(f64::INFINITY, f64::min);
        let y1 = pts().map(|p| ty(p.1)).fold(f64::NEG_INFINITY, f64::max);
        if !self.log_y {
            y0 = y0.min(0.0);
        }
        let (x0, x1) = if x1 > x0 {
            (x0, x1)
        } else {
            (x0 - 1.0, x0 + 1.0)
        };
        let (y0, y1) = if y1 > y0 {
            (y0, y1)
        } else {
            (y0 - 1.0, y0 + 1.0)
        };
        let pw = w - l - r;
        let ph = h - t - b;
        let sx = |x: f64| l + (x - x0) / (x1 - x0) * pw;
        let sy = |y: f64| t + ph - (ty(y) - y0) / (y1 - y0) * ph;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
            l + pw / 2.0,
            esc(&self.title)
        );
        let _ = writeln!(
            s,
            r#"<rect x="{l}" y="{t}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
        );
        for k in 0..=5 {
            let fx = x0 + (x1 - x0) * k as f64 / 5.0;
            let px = sx(fx);
            let _ = writeln!(
                s,
                r##"<line x1="{px}" y1="{t}" x2="{px}" y2="{}" stroke="#ddd"/><text x="{px}" y="{}" text-anchor="middle">{}</text>"##,
                t + ph,
                t + ph + 16.0,
                fmt_num(fx)
            );
            let fy = y0 + (y1 - y0) * k as f64 / 5.0;
            let py = t + ph - (fy - y0) / (y1 - y0) * ph;
            let label = if self.log_y {
                fmt_num(10f64.powf(fy))
            } else {
                fmt_num(fy)
            };
            let _ = writeln!(
                s,
                r##"<line x1="{l}" y1="{py}" x2="{}" y2="{py}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{label}</text>"##,
                l + pw,
                l - 6.0,
                py + 4.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            l + pw / 2.0,
            t + ph + 36.0,
            esc(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>"#,
            t + ph / 2.0,
            t + ph / 2.0,
            esc(&self.y_label)
        );
        for (i, se) in self.series.iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            let d: Vec<String> = se
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            let dash = if se.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{c}" stroke-width="2"{dash} points="{}"/>"#,
                d.join(" ")
            );
            if !se.dashed {
                for &(x, y) in &se.points {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{c}"/>"#,
                        sx(x),
                        sy(y)
                    );
                }
            }
            let ly = t + 10.0 + 18.0 * i as f64;
            let _ = writeln!(
                s,
                r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
                w - r + 10.0,
                w - r + 34.0,
                w - r + 40.0,
                ly + 4.0,
                esc(&se.label)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="10" y="{}" font-family="monospace" font-size="10">{}</text>"#,
            h - 10.0,
            esc(&self.caption)
        );
        s.push_str("</svg>\n");
        s
    }
}

fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}
