//! The study's figures, drawn from a [`Summary`] alone, in the style of [`imdb_train::plot`].

use super::design::Design;
use super::summary::{Curve, Summary, VariantSummary};
use crate::error::{Result, StudyError};
use crate::stats::linear_model::{Factor, PairMeans};
use imdb_train::plot::{BLUE, Drawing, Figure, padded_range, write_image};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// The second series' colour (matplotlib's default orange).
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREY: RGBColor = RGBColor(120, 120, 120);

/// The folder under the study's output holding the figures.
pub const FIGURES_DIR: &str = "figures";

/// File stem of a variant's training-vs-validation loss figure.
pub fn loss_stem(variant: &str) -> String {
    format!("loss_{variant}")
}

/// File stem of a variant's comparison with the baseline.
pub fn compare_stem(variant: &str) -> String {
    format!("compare_{variant}")
}

/// File stem of the test-accuracy chart.
pub const TEST_ACCURACY_STEM: &str = "test_accuracy";

/// File stem of the forest plot: each variant's difference from the baseline with its corrected
/// intervals.
pub const FOREST_STEM: &str = "forest";

/// File stem of the factorial's main effects (each choice against the seed's, with its interval).
pub const EFFECTS_STEM: &str = "effects";

/// File stem of the factorial's interaction plot (every pair of choices).
pub const INTERACTIONS_STEM: &str = "interactions";

/// The second interval's colour in a forest plot.
const GREEN: RGBColor = RGBColor(44, 160, 44);

/// Draws every figure of `summary` as PNG and SVG into `<out>/figures/` and returns their paths.
///
/// Variants design: the forest plot of each variant's difference from the baseline with its
/// Bonferroni-corrected intervals (over seeds, and over reviews and seeds); the test accuracy of
/// every variant with its 95% interval; per variant its mean training and validation loss; per
/// variant other than the baseline its validation accuracy and loss next to the baseline's (mean
/// ± 1 std band). Factorial design: each choice's effect with its 95% interval, and the
/// interaction plot of every pair of choices.
///
/// # Errors
/// [`StudyError::Io`] if the folder cannot be made, [`imdb_train::TrainError::Plot`] naming a
/// failed image.
pub fn write_figures(summary: &Summary, out: &Path) -> Result<Vec<PathBuf>> {
    let dir = out.join(FIGURES_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| StudyError::io(&dir, e))?;
    let mut written = Vec::new();
    let mut save = |drawing: &dyn Fn(&Path) -> Result<()>, stem: &str| -> Result<()> {
        for ext in ["png", "svg"] {
            let path = dir.join(format!("{stem}.{ext}"));
            drawing(&path)?;
            written.push(path);
        }
        Ok(())
    };
    if summary.design == Design::Factorial {
        if let Some(forest) = effects_forest(summary) {
            let size = (1000, 180 + 60 * forest.rows.len() as u32);
            save(&|p| Ok(write_image(&forest, p, size)?), EFFECTS_STEM)?;
        }
        if let Some(fit) = summary.factorial.as_ref().and_then(|f| f.fit.as_ref()) {
            let plot = Interactions {
                pairs: &fit.pairs,
                factors: &fit.factors,
                holm: fit
                    .pairs
                    .iter()
                    .map(|p| fit.term(&p.term).map_or(f64::NAN, |r| r.p_holm))
                    .collect(),
            };
            save(
                &|p| Ok(write_image(&plot, p, (1600, 760))?),
                INTERACTIONS_STEM,
            )?;
        }
        return Ok(written);
    }
    if let Some(forest) = variants_forest(summary) {
        let size = (1000, 200 + 60 * forest.rows.len() as u32);
        save(&|p| Ok(write_image(&forest, p, size)?), FOREST_STEM)?;
    }
    for v in &summary.variants {
        let title = format!("{}: training and validation loss ({})", v.name, seeds(v));
        let points = |c: &Curve| {
            v.curves
                .epochs
                .iter()
                .zip(&c.mean)
                .map(|(&e, &m)| (e as f64, m))
                .collect()
        };
        let fig = Figure {
            title: &title,
            y_label: "Loss",
            train: points(&v.curves.loss),
            valid: points(&v.curves.val_loss),
            valid_label: "Validation",
        };
        save(
            &|p| Ok(write_image(&fig, p, (800, 560))?),
            &loss_stem(&v.name),
        )?;
    }
    if let Some(baseline) = summary.variant(&summary.baseline) {
        for v in summary.variants.iter().filter(|v| v.name != baseline.name) {
            let fig = VersusBaseline {
                baseline,
                variant: v,
            };
            save(
                &|p| Ok(write_image(&fig, p, (1300, 520))?),
                &compare_stem(&v.name),
            )?;
        }
    }
    let chart = TestAccuracyChart { summary };
    save(
        &|p| Ok(write_image(&chart, p, (900, 540))?),
        TEST_ACCURACY_STEM,
    )?;
    Ok(written)
}

/// One row of a forest plot: an estimate and its intervals (one per series of the plot).
struct ForestRow {
    label: String,
    estimate: f64,
    intervals: Vec<Option<[f64; 2]>>,
}

/// Estimates with intervals, one row each, around a vertical line at 0.
struct Forest {
    title: String,
    x_label: String,
    /// The name and colour of each series of intervals.
    series: Vec<(String, RGBColor)>,
    rows: Vec<ForestRow>,
}

/// Each variant's difference in test accuracy from the baseline, with the intervals at the
/// family's Bonferroni level; `None` without comparisons.
fn variants_forest(summary: &Summary) -> Option<Forest> {
    let rows: Vec<ForestRow> = summary
        .variants
        .iter()
        .filter_map(|v| {
            let c = v.vs_baseline.as_ref()?;
            let t = c.test.as_ref()?;
            Some(ForestRow {
                label: format!("{} ({})", v.name, v.runs.len()),
                estimate: t.diff,
                intervals: vec![c.ci_adjusted, c.bootstrap.as_ref().map(|b| b.ci_adjusted)],
            })
        })
        .collect();
    let c = summary
        .variants
        .iter()
        .find_map(|v| v.vs_baseline.as_ref())?;
    let level = 100.0 * (1.0 - summary.alpha / c.family_size.max(1) as f64);
    (!rows.is_empty()).then(|| Forest {
        title: format!(
            "Test accuracy minus the baseline's (baseline: {} seeds): {level:.2}% intervals (Bonferroni over {})",
            summary.variant(&summary.baseline).map_or(0, |b| b.runs.len()),
            c.family_size
        ),
        x_label: "Difference in test accuracy (variant − baseline)".into(),
        series: vec![
            ("over seeds (Welch)".into(), BLUE),
            ("over test reviews and seeds (paired bootstrap)".into(), ORANGE),
        ],
        rows,
    })
}

/// The factorial's main effects: each level against the seed's choice, with its 95% interval.
fn effects_forest(summary: &Summary) -> Option<Forest> {
    let f = summary.factorial.as_ref()?;
    let rows: Vec<ForestRow> = f
        .effects
        .iter()
        .map(|e| ForestRow {
            label: format!("{}: {} (vs {})", e.factor, e.level, e.baseline),
            estimate: e.estimate,
            intervals: vec![Some(e.ci95)],
        })
        .collect();
    (!rows.is_empty()).then(|| Forest {
        title: "What each choice is worth: test accuracy, averaged over the other choices".into(),
        x_label: "Difference in test accuracy from the seed's choice".into(),
        series: vec![("95% interval over seeds (linear model)".into(), GREEN)],
        rows,
    })
}

impl Drawing for Forest {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let n = self.rows.len();
        let x_range = padded_range(self.rows.iter().flat_map(|r| {
            r.intervals
                .iter()
                .flatten()
                .flat_map(|i| *i)
                .chain([r.estimate, 0.0])
        }));
        // One empty row below the last holds the legend, which would otherwise cover an interval.
        let bottom = -1.4;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(260)
            .build_cartesian_2d(x_range.clone(), bottom..n as f64 - 0.4)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .y_labels(0)
            .x_desc(self.x_label.as_str())
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 14))
            .x_label_formatter(&|x| format!("{x:+.3}"))
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, bottom), (0.0, n as f64 - 0.4)],
            GREY.stroke_width(1),
        )))?;
        let k = self.series.len() as f64;
        for (i, row) in self.rows.iter().enumerate() {
            // First row at the top.
            let y = (n - 1 - i) as f64;
            for (s, (interval, (_, color))) in row.intervals.iter().zip(&self.series).enumerate() {
                let Some([lo, hi]) = *interval else { continue };
                let y = y + 0.22 * ((k - 1.0) / 2.0 - s as f64);
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(lo, y), (hi, y)],
                    color.stroke_width(3),
                )))?;
                for x in [lo, hi] {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x, y))
                            + PathElement::new(vec![(0, -6), (0, 6)], color.stroke_width(2)),
                    ))?;
                }
            }
            chart.draw_series(std::iter::once(
                EmptyElement::at((row.estimate, y))
                    + Rectangle::new([(-5, -5), (5, 5)], BLACK.filled()),
            ))?;
            let (px, py) = chart.backend_coord(&(x_range.start, y));
            root.draw(&Text::new(
                row.label.clone(),
                (px - 10, py),
                ("sans-serif", 16)
                    .into_font()
                    .into_text_style(root)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        for (name, color) in &self.series {
            let color = *color;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x_range.start, -10.0), (x_range.start, -10.0)],
                    color,
                )))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()?;
        Ok(())
    }
}

/// The factorial's two-way interactions: for each pair of choices, the mean test accuracy at
/// each combination of their levels (averaged over the other choices), ± 1 standard error, one
/// line per level of the second choice. Parallel lines: no interaction.
struct Interactions<'a> {
    pairs: &'a [PairMeans],
    factors: &'a [Factor],
    /// The Holm-adjusted p of each pair's term.
    holm: Vec<f64>,
}

impl Drawing for Interactions<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let root = root.titled(
            "Interactions: mean test accuracy per pair of choices (± 1 se; parallel lines = no interaction)",
            ("sans-serif", 22),
        )?;
        let columns = 5;
        let rows = self.pairs.len().div_ceil(columns).max(1);
        let panels = root.split_evenly((rows, columns));
        // One y scale for every panel, so that slopes compare across pairs.
        let y_range = padded_range(self.pairs.iter().flat_map(|p| {
            p.means
                .iter()
                .zip(&p.se)
                .flat_map(|(m, s)| m.iter().zip(s).flat_map(|(m, s)| [m - s, m + s]))
        }));
        // Room below the lowest mean for each panel's legend, which would otherwise cover it.
        let y_range = (y_range.start - 0.5 * (y_range.end - y_range.start))..y_range.end;
        let palette = [BLUE, ORANGE, GREEN];
        for ((pair, holm), panel) in self.pairs.iter().zip(&self.holm).zip(panels.iter()) {
            let levels_a = pair.means.len();
            let caption = format!("{} × {} (Holm p {})", pair.a, pair.b, short_p(*holm));
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(52)
                .build_cartesian_2d(-0.3..levels_a as f64 - 0.7, y_range.clone())?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .light_line_style(TRANSPARENT)
                .x_labels(levels_a)
                .x_label_formatter(&|x| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 {
                        level_name(self.factors, &pair.a, i as usize)
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|y| format!("{y:.3}"))
                .label_style(("sans-serif", 12))
                .draw()?;
            let levels_b = pair.means.first().map_or(0, Vec::len);
            for j in 0..levels_b {
                let color = palette[j % palette.len()];
                let points: Vec<(f64, f64)> = (0..levels_a)
                    .map(|i| (i as f64, pair.means[i][j]))
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                    .label(format!(
                        "{} {}",
                        pair.b,
                        level_name(self.factors, &pair.b, j)
                    ))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
                for (i, (x, m)) in points.into_iter().enumerate() {
                    let s = pair.se[i][j];
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x, m - s), (x, m + s)],
                        color.stroke_width(1),
                    )))?;
                    chart.draw_series(std::iter::once(Circle::new((x, m), 3, color.filled())))?;
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.8))
                .border_style(GREY)
                .label_font(("sans-serif", 12))
                .draw()?;
        }
        Ok(())
    }
}

/// The name of level `i` of the factor named `factor`.
fn level_name(factors: &[Factor], factor: &str, i: usize) -> String {
    factors
        .iter()
        .find(|f| f.name == factor)
        .and_then(|f| f.levels.get(i).cloned())
        .unwrap_or_else(|| i.to_string())
}

fn short_p(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

fn seeds(v: &VariantSummary) -> String {
    match v.runs.len() {
        1 => "1 seed".into(),
        n => format!("mean of {n} seeds"),
    }
}

/// Validation accuracy and validation loss of a variant and the baseline, side by side.
struct VersusBaseline<'a> {
    baseline: &'a VariantSummary,
    variant: &'a VariantSummary,
}

impl Drawing for VersusBaseline<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let title = format!(
            "{} vs {} (mean ± 1 std over seeds)",
            self.variant.name, self.baseline.name
        );
        let root = root.titled(&title, ("sans-serif", 24))?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        let series = |f: fn(&VariantSummary) -> &Curve| {
            [
                (self.baseline, f(self.baseline), BLUE),
                (self.variant, f(self.variant), ORANGE),
            ]
        };
        band_panel(
            &left,
            "Validation accuracy",
            &series(|v| &v.curves.val_accuracy),
        )?;
        band_panel(&right, "Validation loss", &series(|v| &v.curves.val_loss))
    }
}

/// Mean curves with a ±1 std band, one per variant.
fn band_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    y_label: &str,
    series: &[(&VariantSummary, &Curve, RGBColor)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let bounds = |c: &Curve, sign: f64| -> Vec<f64> {
        c.mean
            .iter()
            .zip(&c.std)
            .map(|(m, s)| m + sign * s.unwrap_or(0.0))
            .collect()
    };
    let y_range = padded_range(
        series
            .iter()
            .flat_map(|(_, c, _)| [bounds(c, 1.0), bounds(c, -1.0)].concat()),
    );
    let epochs = series
        .iter()
        .map(|(_, c, _)| c.mean.len())
        .max()
        .unwrap_or(1);
    let mut chart = ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0.5..epochs.max(1) as f64 + 0.5, y_range)?;
    chart
        .configure_mesh()
        .x_desc("Epochs")
        .y_desc(y_label)
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 14))
        .x_labels(epochs.clamp(2, 20))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    for &(variant, curve, color) in series {
        let xs: Vec<f64> = (1..=curve.mean.len()).map(|e| e as f64).collect();
        let upper = xs.iter().copied().zip(bounds(curve, 1.0));
        let lower = xs.iter().copied().zip(bounds(curve, -1.0)).rev();
        chart.draw_series(std::iter::once(Polygon::new(
            upper.chain(lower).collect::<Vec<_>>(),
            color.mix(0.2).filled(),
        )))?;
        chart
            .draw_series(LineSeries::new(
                xs.into_iter().zip(curve.mean.iter().copied()),
                color.stroke_width(2),
            ))?
            .label(format!("{} ({})", variant.name, seeds(variant)))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    Ok(())
}

/// Test accuracy per variant: each seed as a dot, the mean as a bar tick, the 95% interval as an
/// error bar.
struct TestAccuracyChart<'a> {
    summary: &'a Summary,
}

impl Drawing for TestAccuracyChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let variants = &self.summary.variants;
        let values = variants.iter().flat_map(|v| {
            let ci = v.test_accuracy.ci95.unwrap_or([v.test_accuracy.mean; 2]);
            v.runs.iter().map(|r| r.test_accuracy).chain(ci)
        });
        // A segmented integer range has one segment per value, its end included.
        let last = variants.len().max(1) as i32 - 1;
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Test accuracy per variant (mean, 95% interval, each seed)",
                ("sans-serif", 24),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d((0..last).into_segmented(), padded_range(values))?;
        let name = |x: &SegmentValue<i32>| match x {
            SegmentValue::CenterOf(i) => variants
                .get(*i as usize)
                .map_or(String::new(), |v| v.name.clone()),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc("Test accuracy")
            .axis_desc_style(("sans-serif", 18))
            .label_style(("sans-serif", 14))
            .x_labels(variants.len())
            .x_label_formatter(&name)
            .y_label_formatter(&|y| format!("{y:.3}"))
            .draw()?;
        for (i, v) in variants.iter().enumerate() {
            let x = SegmentValue::CenterOf(i as i32);
            let color = if v.name == self.summary.baseline {
                BLUE
            } else {
                ORANGE
            };
            chart.draw_series(
                v.runs
                    .iter()
                    .map(|r| Circle::new((x.clone(), r.test_accuracy), 3, GREY.filled())),
            )?;
            if let Some([lo, hi]) = v.test_accuracy.ci95 {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x.clone(), lo), (x.clone(), hi)],
                    color.stroke_width(2),
                )))?;
                // Caps: short horizontal strokes, in pixels so they do not depend on the scale.
                for y in [lo, hi] {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x.clone(), y))
                            + PathElement::new(vec![(-8, 0), (8, 0)], color.stroke_width(2)),
                    ))?;
                }
            }
            let mean = v.test_accuracy.mean;
            chart.draw_series(std::iter::once(
                EmptyElement::at((x.clone(), mean))
                    + Rectangle::new([(-6, -6), (6, 6)], color.filled()),
            ))?;
        }
        Ok(())
    }
}
