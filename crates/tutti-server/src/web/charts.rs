//! The cockpit's charts, drawn by plotters as SVG on the server.
//!
//! Each chart is a function of plain figures and labels the caller has
//! already written in the reader's language, so the charts know nothing of
//! the store or of locales. A chart that cannot be drawn (plotters reports an
//! error) becomes an empty string and the page keeps its figures in text.

use plotters::coord::Shift;
use plotters::prelude::*;

const WIDTH: u32 = 480;
const HEIGHT: u32 = 220;
const FONT: u32 = 13;
const INK: RGBColor = RGBColor(0x33, 0x3d, 0x4a);
const GRID: RGBColor = RGBColor(0xe3, 0xe7, 0xec);
/// Calm, distinguishable series colours (Okabe–Ito, readable for the
/// common forms of colour blindness).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0x00, 0x72, 0xb2),
    RGBColor(0xe6, 0x9f, 0x00),
    RGBColor(0x00, 0x9e, 0x73),
    RGBColor(0xcc, 0x79, 0xa7),
    RGBColor(0x56, 0xb4, 0xe9),
    RGBColor(0xd5, 0x5e, 0x00),
];
const WARN: RGBColor = RGBColor(0xd5, 0x5e, 0x00);

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn draw(
    width: u32,
    height: u32,
    paint: impl FnOnce(&Area<'_>) -> Result<(), Box<dyn std::error::Error>>,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| paint(&root).map_err(|e| e.to_string()))
            .and_then(|()| root.present().map_err(|e| e.to_string()));
        if let Err(e) = drawn {
            tracing::warn!("cannot draw a chart: {e}");
            return String::new();
        }
    }
    // Scale with the page: the fixed size becomes the drawing's aspect ratio.
    svg.replacen(
        &format!("width=\"{width}\" height=\"{height}\""),
        &format!("viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"xMidYMid meet\""),
        1,
    )
}

fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&INK)
}

/// Vertical bars, one per label, for one or more stacked series.
pub fn stacked_bars(labels: &[String], series: &[(String, Vec<f64>)]) -> String {
    let n = labels.len().max(1);
    let totals: Vec<f64> = (0..n)
        .map(|i| {
            series
                .iter()
                .map(|(_, v)| v.get(i).copied().unwrap_or(0.0))
                .sum()
        })
        .collect();
    let top = totals.iter().copied().fold(0.0, f64::max).max(1.0) * 1.15;
    draw(WIDTH, HEIGHT, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(26)
            .y_label_area_size(40)
            .build_cartesian_2d((0..n as i32).into_segmented(), 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(n)
            .y_labels(5)
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| labels.get(i))
                    .cloned()
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(font(FONT))
            .draw()?;
        let mut base = vec![0.0; n];
        for (k, (name, values)) in series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let bars: Vec<Rectangle<(SegmentValue<i32>, f64)>> = values
                .iter()
                .enumerate()
                .take(n)
                .map(|(i, v)| {
                    let from = base[i];
                    base[i] += v;
                    let mut bar = Rectangle::new(
                        [
                            (SegmentValue::Exact(i as i32), from),
                            (SegmentValue::Exact(i as i32 + 1), from + v),
                        ],
                        colour.filled(),
                    );
                    bar.set_margin(0, 0, 8, 8);
                    bar
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(GRID)
                .label_font(font(FONT))
                .position(SeriesLabelPosition::UpperRight)
                .draw()?;
        }
        Ok(())
    })
}

/// Lines over days, one per series (spend per group, check-in values).
pub fn lines(
    x_labels: &[String],
    series: &[(String, Vec<f64>)],
    y_format: &dyn Fn(f64) -> String,
) -> String {
    let n = x_labels.len().max(2);
    let top = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE)
        * 1.15;
    let bottom = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0, f64::min);
    let every = (n / 6).max(1);
    draw(WIDTH, HEIGHT, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..(n - 1) as f64, bottom..top)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(n.min(8))
            .y_labels(5)
            .x_label_formatter(&|x| {
                let i = x.round() as usize;
                if (x - i as f64).abs() < 1e-6 && i.is_multiple_of(every) {
                    x_labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| y_format(*y))
            .label_style(font(FONT))
            .draw()?;
        for (k, (name, values)) in series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    values.iter().enumerate().map(|(i, v)| (i as f64, *v)),
                    colour.stroke_width(2),
                ))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 12, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Circle::new((i as f64, *v), 3, colour.filled())),
            )?;
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(GRID)
                .label_font(font(FONT))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()?;
        }
        Ok(())
    })
}

/// Horizontal bars of how much of each budget is used, with the warn line
/// of each and the limit at 100 %.
pub fn budget_use(rows: &[(String, f64, f64)]) -> String {
    let n = rows.len().max(1);
    let height = (36 + 34 * n as u32).max(90);
    let right = rows
        .iter()
        .map(|(_, used, _)| *used)
        .fold(1.0, f64::max)
        .min(2.0)
        * 1.05;
    // The first budget on top.
    let row_of = |i: usize| (n - 1 - i) as i32;
    draw(WIDTH, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(150)
            .build_cartesian_2d(0f64..right, (0..n as i32).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .axis_style(INK)
            .y_labels(n)
            .x_labels(5)
            .x_label_formatter(&|x| format!("{:.0}%", x * 100.0))
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) => usize::try_from(*i)
                    .ok()
                    .and_then(|i| (n - 1).checked_sub(i))
                    .and_then(|i| rows.get(i))
                    .map(|r| r.0.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(font(FONT))
            .draw()?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, used, warn))| {
            let y = row_of(i);
            let colour = if used >= warn { WARN } else { PALETTE[0] };
            let mut bar = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    (used.min(right), SegmentValue::Exact(y + 1)),
                ],
                colour.filled(),
            );
            bar.set_margin(6, 6, 0, 0);
            bar
        }))?;
        chart.draw_series(rows.iter().enumerate().map(|(i, (_, _, warn))| {
            let y = row_of(i);
            PathElement::new(
                [
                    (*warn, SegmentValue::Exact(y)),
                    (*warn, SegmentValue::Exact(y + 1)),
                ],
                INK.stroke_width(1),
            )
        }))?;
        chart.draw_series(std::iter::once(PathElement::new(
            [
                (1.0, SegmentValue::Exact(0)),
                (1.0, SegmentValue::Exact(n as i32)),
            ],
            WARN.stroke_width(2),
        )))?;
        Ok(())
    })
}

/// AI spend against what it moved: one labelled dot per group at its cost
/// (x) and the key-result points it moved (y); a group whose spend moved
/// nothing is drawn in the warning colour on the zero line.
pub fn leverage(
    rows: &[(String, f64, f64)],
    cost_axis: &str,
    points_axis: &str,
    money: &dyn Fn(f64, usize) -> String,
) -> String {
    // A local model costs fractions of a cent: the axis follows the spend
    // rather than starting at one whole unit.
    let most = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    let right = if most > 0.0 { most * 1.2 } else { 1.0 };
    let decimals = match right {
        r if r >= 10.0 => 0,
        r if r >= 0.1 => 2,
        _ => 4,
    };
    let top = rows.iter().map(|r| r.2).fold(0.0, f64::max).max(1.0) * 1.25;
    let bottom = rows.iter().map(|r| r.2).fold(0.0, f64::min).min(0.0) * 1.25;
    draw(WIDTH, HEIGHT + 40, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(46)
            .build_cartesian_2d(0f64..right, bottom..top)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .axis_style(INK)
            .x_labels(5)
            .y_labels(5)
            .x_desc(cost_axis)
            .y_desc(points_axis)
            .x_label_formatter(&|x| money(*x, decimals))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(font(FONT))
            .axis_desc_style(font(FONT))
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            [(0.0, 0.0), (right, 0.0)],
            INK.stroke_width(1),
        )))?;
        chart.draw_series(rows.iter().map(|(label, cost, points)| {
            let colour = if *points <= 0.0 && *cost > 0.0 {
                WARN
            } else {
                PALETTE[0]
            };
            // Labels right of their dot, or left of it near the right edge.
            let offset = if *cost > right * 0.6 {
                -8 - 7 * label.chars().count().min(24) as i32
            } else {
                8
            };
            EmptyElement::at((*cost, *points))
                + Circle::new((0, 0), 5, colour.filled())
                + Text::new(
                    label.chars().take(24).collect::<String>(),
                    (offset, -6),
                    font(FONT - 1),
                )
        }))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leverage_chart_labels_its_groups_and_follows_small_spend() {
        let svg = leverage(
            &[
                ("Störungen".into(), 0.0012, 50.0),
                ("Ohne Ziel".into(), 0.0020, 0.0),
            ],
            "Kosten (EUR)",
            "Punkte",
            &|x, d| format!("{x:.d$}"),
        );
        assert!(svg.contains("viewBox"), "{svg}");
        assert!(svg.contains("Störungen") && svg.contains("Ohne Ziel"));
        // The axis reads in fractions of a cent, not 0, 0, 1.
        assert!(svg.contains("0.0020") || svg.contains("0.0016"), "{svg}");
    }

    #[test]
    fn charts_are_scalable_svg_with_their_labels() {
        let svg = stacked_bars(
            &["KW 45".into(), "KW 46".into()],
            &[
                ("geplant".into(), vec![3.0, 5.0]),
                ("ungeplant".into(), vec![1.0, 0.0]),
            ],
        );
        assert!(
            svg.starts_with("<svg") && svg.contains("viewBox=\"0 0 480 220\""),
            "{svg}"
        );
        assert!(svg.contains("KW 46") && svg.contains("ungeplant"));
        assert!(svg.matches("<rect").count() >= 4);
        let line = lines(
            &["1.11.".into(), "2.11.".into()],
            &[("x".into(), vec![1.0, 2.0])],
            &|y| format!("{y:.1}"),
        );
        assert!(
            line.contains("<polyline") || line.contains("<path"),
            "{line}"
        );
        let budgets = budget_use(&[("Service-Team".into(), 0.85, 0.8)]);
        assert!(budgets.contains("Service-Team"));
    }
}
