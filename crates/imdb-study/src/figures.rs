//! The study's figures, drawn from a [`Summary`] alone, in the style of [`imdb_train::plot`].

use super::summary::{Curve, Summary, VariantSummary};
use crate::error::{Result, StudyError};
use imdb_train::plot::{BLUE, Drawing, Figure, padded_range, write_image};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
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

/// Draws every figure of `summary` as PNG and SVG into `<out>/figures/` and returns their paths:
/// per variant its mean training and validation loss; per variant other than the baseline its
/// validation accuracy and loss next to the baseline's (mean ± 1 std band); the test accuracy of
/// every variant with its 95% interval.
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
