//! Figures as PNG and SVG from one drawing, with an embedded font: the seed notebook's training
//! and validation curves ([`plot_history`]), and the pieces other figures are drawn with
//! ([`Drawing`], [`write_image`], [`padded_range`], [`BLUE`]; the study's figures use them).

use crate::error::{Result, TrainError};
use crate::history::EpochMetrics;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// DejaVu Sans (licence: `assets/DejaVu-LICENSE.txt` in this crate, Bitstream Vera), compiled in
/// so PNGs need no system fonts.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Makes the embedded font the one plotters finds as `"sans-serif"` (once per process).
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            unreachable!("the embedded DejaVu Sans font is a valid TrueType font");
        }
    });
}

/// The colour of the notebook's series (matplotlib's default blue).
pub const BLUE: RGBColor = RGBColor(31, 119, 180);

/// Something that draws itself on any plotters backend, so one drawing makes both the PNG and
/// the SVG.
pub trait Drawing {
    /// Draws onto `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// One figure: a training series (dots) and a validation series (line), like the notebook's
/// `plt.plot(epochs, loss, "bo")` / `plt.plot(epochs, val_loss, "b")`.
pub struct Figure<'a> {
    /// The title above the chart.
    pub title: &'a str,
    /// The y axis's label; the x axis is epochs.
    pub y_label: &'a str,
    /// The training series, `(epoch, value)`, drawn as dots.
    pub train: Vec<(f64, f64)>,
    /// The validation series, `(epoch, value)`, drawn as a line.
    pub valid: Vec<(f64, f64)>,
    /// The second series' name (e.g. "Validation").
    pub valid_label: &'a str,
}

/// Draws `loss.{png,svg}` and `accuracy.{png,svg}` into `dir` and returns their paths.
/// `valid_label` names the second series (e.g. "Validation").
///
/// # Errors
/// [`TrainError::Plot`] naming the file.
pub fn plot_history(
    history: &[EpochMetrics],
    dir: &Path,
    valid_label: &str,
) -> Result<Vec<PathBuf>> {
    let series = |f: fn(&EpochMetrics) -> f64| {
        history
            .iter()
            .map(|m| (m.epoch as f64, f(m)))
            .collect::<Vec<_>>()
    };
    let loss = Figure {
        title: "Training and validation loss",
        y_label: "Loss",
        train: series(|m| m.loss),
        valid: series(|m| m.val_loss),
        valid_label,
    };
    let accuracy = Figure {
        title: "Training and validation accuracy",
        y_label: "Accuracy",
        train: series(|m| m.accuracy),
        valid: series(|m| m.val_accuracy),
        valid_label,
    };
    let mut written = Vec::new();
    for (name, fig) in [("loss", &loss), ("accuracy", &accuracy)] {
        for ext in ["png", "svg"] {
            let path = dir.join(format!("{name}.{ext}"));
            write_image(fig, &path, (800, 560))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Renders `drawing` as PNG or SVG (by `path`'s extension) of `size` pixels to a temp file in the
/// same directory, then renames: no half-drawn image is left behind.
pub fn write_image(drawing: &impl Drawing, path: &Path, size: (u32, u32)) -> Result<()> {
    register_font();
    let plot_err = |message: String| TrainError::Plot {
        path: path.to_owned(),
        message,
    };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("png");
    let tmp = imdb_data::atomic::AtomicFile::new(path).map_err(|e| TrainError::io(path, e))?;
    if ext == "svg" {
        let root = SVGBackend::new(tmp.path(), size).into_drawing_area();
        drawing.draw(&root).map_err(|e| plot_err(e.to_string()))?;
        root.present().map_err(|e| plot_err(e.to_string()))?;
    } else {
        let root = BitMapBackend::new(tmp.path(), size).into_drawing_area();
        drawing.draw(&root).map_err(|e| plot_err(e.to_string()))?;
        root.present().map_err(|e| plot_err(e.to_string()))?;
    }
    tmp.commit().map_err(|e| TrainError::io(path, e))?;
    Ok(())
}

/// The range of the finite `values`, padded by 5% so no point sits on the frame; `0..1` if none.
pub fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(1e-3);
    lo - pad..hi + pad
}

impl Drawing for Figure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        draw_figure(self, root)
    }
}

fn draw_figure<DB: DrawingBackend>(
    fig: &Figure,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let y_range = padded_range(fig.train.iter().chain(&fig.valid).map(|p| p.1));
    let last = fig.train.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(fig.title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0.5..last + 0.5, y_range)?;
    chart
        .configure_mesh()
        .x_desc("Epochs")
        .y_desc(fig.y_label)
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 14))
        .x_labels(fig.train.len().clamp(2, 20))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    let blue = BLUE;
    chart
        .draw_series(fig.train.iter().map(|&p| Circle::new(p, 4, blue.filled())))?
        .label(format!("Training {}", fig.y_label.to_lowercase()))
        .legend(move |(x, y)| Circle::new((x + 10, y), 4, blue.filled()));
    chart
        .draw_series(LineSeries::new(
            fig.valid.iter().copied(),
            blue.stroke_width(2),
        ))?
        .label(format!(
            "{} {}",
            fig.valid_label,
            fig.y_label.to_lowercase()
        ))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_four_images_and_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let history: Vec<EpochMetrics> = (1..=5)
            .map(|e| EpochMetrics {
                epoch: e,
                loss: 0.5 / e as f64,
                accuracy: 0.8 + 0.03 * e as f64,
                val_loss: 0.3 + 0.01 * e as f64,
                val_accuracy: 0.88,
            })
            .collect();
        let files = plot_history(&history, dir.path(), "Validation").unwrap();
        assert_eq!(files.len(), 4);
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            if f.extension().unwrap() == "png" {
                assert_eq!(&bytes[..4], b"\x89PNG");
            } else {
                let svg = String::from_utf8(bytes).unwrap();
                assert!(svg.contains("Training and validation"), "title drawn");
                assert!(svg.contains("Epochs"), "axis label drawn");
            }
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }
}
