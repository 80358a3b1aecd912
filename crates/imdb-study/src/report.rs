//! `report.md`, `report.html` and `summary.json` from a [`Summary`].
//!
//! Every sentence that states a finding is built from the numbers: the report is laid out once as
//! a small document (blocks) and rendered twice, so Markdown and HTML cannot disagree.

use super::claims::{ClaimOutcome, Support};
use super::figures::{FIGURES_DIR, TEST_ACCURACY_STEM, compare_stem, loss_stem, write_figures};
use super::summary::{Comparison, Summary, VariantSummary, Verdict};
use crate::error::{Result, StudyError};
use crate::stats::ttest::Estimate;

/// Writes `bytes` to `path` atomically ([`imdb_data::atomic::write`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    imdb_data::atomic::write(path, bytes).map_err(|e| StudyError::io(path, e))
}
use std::path::Path;

/// Writes `summary.json`, the figures, `report.md` and `report.html` into `out`.
///
/// # Errors
/// A file or figure that cannot be written.
pub fn write_report(summary: &Summary, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| StudyError::io(out, e))?;
    let json = serde_json::to_string_pretty(summary).expect("summaries always serialise");
    write_atomic(&out.join("summary.json"), json.as_bytes())?;
    write_figures(summary, out)?;
    let doc = document(summary);
    write_atomic(&out.join("report.md"), to_markdown(&doc).as_bytes())?;
    write_atomic(&out.join("report.html"), to_html(&doc).as_bytes())
}

/// The report as Markdown.
pub fn render_markdown(summary: &Summary) -> String {
    to_markdown(&document(summary))
}

/// The report as a standalone HTML page (images by relative path, under `figures/`).
pub fn render_html(summary: &Summary) -> String {
    to_html(&document(summary))
}

/// A run of text with its emphasis.
enum Inline {
    Text(String),
    Strong(String),
    Code(String),
}

/// One piece of the report.
enum Block {
    Heading(u8, String),
    Paragraph(Vec<Inline>),
    List(Vec<Vec<Inline>>),
    Table(Vec<&'static str>, Vec<Vec<String>>),
    /// Alt text and the file stem under `figures/`.
    Image(String, String),
}

use Inline::{Code, Strong, Text};

fn text(s: impl Into<String>) -> Inline {
    Text(s.into())
}

fn document(s: &Summary) -> Vec<Block> {
    let seeds: Vec<usize> = s.variants.iter().map(|v| v.runs.len()).collect();
    let seeds_text = match (seeds.iter().min(), seeds.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => format!("{lo} seed{}", plural(*lo)),
        (Some(lo), Some(hi)) => format!("{lo} to {hi} seeds"),
        _ => "no runs".into(),
    };
    let mut doc = vec![
        Block::Heading(
            1,
            format!(
                "IMDB multi-hot MLP: {} variant{} × {seeds_text}",
                s.variants.len(),
                plural(s.variants.len())
            ),
        ),
        Block::Paragraph(vec![text(format!(
            "Every run follows the seed notebook's protocol: train with validation, choose the \
             retraining epoch from the validation history (each config's selection rule), \
             retrain from scratch on all {} training reviews for that many epochs, evaluate on \
             the {} test reviews. Backend: {}. Data \
             checksum: {}. Wall time of all runs: {}.",
            s.train_reviews,
            s.test_reviews,
            s.backend,
            s.data_checksum,
            duration(s.wall_seconds())
        ))]),
    ];
    if s.train_reviews < 25_000 {
        doc.push(Block::Paragraph(vec![
            Strong("Small data.".into()),
            text(format!(
                " These runs trained on {} reviews, not the full 25,000: the numbers are not \
                 comparable with the seed notebook's.",
                s.train_reviews
            )),
        ]));
    }
    doc.push(Block::Paragraph(vec![text(format!(
        "Statistics over seeds: mean ± sample standard deviation (n − 1); 95% interval of the mean \
         = mean ± t(0.975, n − 1)·std/√n. Losses include the L2 penalty where a variant has one, as Keras reports them. Each \
         variant's test accuracy is compared with the \
         baseline's by {} at α = {}; the verdict is “better” or “worse” when p < α, else “no \
         detectable difference” (which is not evidence of equality).",
        s.test, s.alpha
    ))]));

    doc.push(Block::Heading(2, "Results".into()));
    doc.push(results_table(s));

    doc.push(Block::Heading(
        2,
        "Each variant against the baseline".into(),
    ));
    let baseline = s.variant(&s.baseline);
    let items: Vec<Vec<Inline>> = s
        .variants
        .iter()
        .filter_map(|v| {
            let c = v.vs_baseline.as_ref()?;
            Some(comparison_item(v, baseline?, c, s.alpha))
        })
        .collect();
    if items.is_empty() {
        doc.push(Block::Paragraph(vec![text(format!(
            "No comparison: the study has no variant named “{}” or no other variant.",
            s.baseline
        ))]));
    } else {
        doc.push(Block::List(items));
    }

    doc.push(Block::Heading(2, "The seed notebook's claims".into()));
    doc.push(Block::Paragraph(vec![text(
        "The seed drew each of these conclusions from a single run. Here each is tested over the \
         seeds above, with the same test and level.",
    )]));
    doc.push(Block::List(
        s.claims.iter().map(|c| claim_item(s, c)).collect(),
    ));

    doc.push(Block::Heading(2, "Figures".into()));
    doc.push(Block::Image(
        "Test accuracy per variant".into(),
        TEST_ACCURACY_STEM.into(),
    ));
    for v in s.variants.iter().filter(|v| v.name != s.baseline) {
        if baseline.is_some() {
            doc.push(Block::Image(
                format!("{} vs baseline: validation accuracy and loss", v.name),
                compare_stem(&v.name),
            ));
        }
    }
    for v in &s.variants {
        doc.push(Block::Image(
            format!("{}: training and validation loss", v.name),
            loss_stem(&v.name),
        ));
    }

    doc.push(Block::Heading(2, "Every run".into()));
    doc.push(runs_table(s));
    doc
}

fn results_table(s: &Summary) -> Block {
    let header = vec![
        "variant",
        "seeds",
        "chosen epoch",
        "best val. accuracy",
        "test accuracy",
        "test accuracy 95% CI",
        "test loss",
        "test loss 95% CI",
        "Δ test accuracy vs baseline [95% CI]",
        "p",
        "verdict",
        "wall time",
    ];
    let rows = s
        .variants
        .iter()
        .map(|v| {
            let (diff, p, verdict) = match &v.vs_baseline {
                None => ("—".into(), "—".into(), "(reference)".into()),
                Some(Comparison { test: None, .. }) => {
                    ("—".into(), "—".into(), Verdict::NotTested.label().into())
                }
                Some(c @ Comparison { test: Some(t), .. }) => (
                    format!(
                        "{} [{}, {}]",
                        signed(t.diff),
                        signed(t.ci95[0]),
                        signed(t.ci95[1])
                    ),
                    p_value(t.p),
                    c.verdict.label().into(),
                ),
            };
            vec![
                v.name.clone(),
                v.runs.len().to_string(),
                mean_std(&v.chosen_epoch, 1),
                mean_std(&v.best_val_accuracy, 4),
                mean_std(&v.test_accuracy, 4),
                interval(&v.test_accuracy),
                mean_std(&v.test_loss, 4),
                interval(&v.test_loss),
                diff,
                p,
                verdict,
                duration(v.wall_seconds),
            ]
        })
        .collect();
    Block::Table(header, rows)
}

fn runs_table(s: &Summary) -> Block {
    let header = vec![
        "variant",
        "seed",
        "chosen epoch",
        "best val. accuracy",
        "lowest val. loss",
        "last val. loss",
        "test accuracy",
        "test loss",
        "wall time",
    ];
    let rows = s
        .variants
        .iter()
        .flat_map(|v| {
            v.runs.iter().map(|r| {
                vec![
                    v.name.clone(),
                    r.seed.to_string(),
                    r.chosen_epoch.to_string(),
                    format!("{:.4}", r.best_val_accuracy),
                    format!("{:.4}", r.best_val_loss),
                    format!("{:.4}", r.final_val_loss),
                    format!("{:.4}", r.test_accuracy),
                    format!("{:.4}", r.test_loss),
                    duration(r.seconds),
                ]
            })
        })
        .collect();
    Block::Table(header, rows)
}

/// "test accuracy 0.8812 vs 0.8790, difference +0.0022 (95% CI …), p = …" for a comparison.
fn measured(v: &VariantSummary, reference: &VariantSummary, c: &Comparison) -> String {
    let metric = c.metric;
    let (a, b) = (v.estimate(metric), reference.estimate(metric));
    let head = format!(
        "{} {:.4} ({} seed{}) vs {:.4} ({} seed{})",
        metric.label(),
        a.mean,
        a.n,
        plural(a.n),
        b.mean,
        b.n,
        plural(b.n)
    );
    match &c.test {
        None => format!("{head}; not tested: each side needs at least two seeds"),
        Some(t) => format!(
            "{head}, difference {} (95% CI {} to {}), p = {}",
            signed(t.diff),
            signed(t.ci95[0]),
            signed(t.ci95[1]),
            p_value(t.p)
        ),
    }
}

fn verdict_phrase(v: &VariantSummary, c: &Comparison, alpha: f64) -> String {
    match c.verdict {
        Verdict::Better | Verdict::Worse => format!(
            "{} is {} than {} on {} at α = {alpha}",
            v.name,
            c.verdict.label(),
            c.reference,
            c.metric.label()
        ),
        Verdict::NoDetectableDifference => {
            format!("no detectable difference at α = {alpha}")
        }
        Verdict::NotTested => "not tested".into(),
    }
}

fn comparison_item(
    v: &VariantSummary,
    baseline: &VariantSummary,
    c: &Comparison,
    alpha: f64,
) -> Vec<Inline> {
    vec![
        Code(v.name.clone()),
        text(format!(": {}. ", measured(v, baseline, c))),
        Strong(capitalised(&verdict_phrase(v, c, alpha))),
        text("."),
    ]
}

fn claim_item(s: &Summary, outcome: &ClaimOutcome) -> Vec<Inline> {
    let claim = &outcome.claim;
    let mut item = vec![
        Code(format!("{} vs {}", claim.variant, claim.reference)),
        text(format!(" — the seed: “{}”. ", claim.seed_says)),
    ];
    let found = s.variant(&claim.variant).zip(s.variant(&claim.reference));
    match (&outcome.comparison, found) {
        (Some(c), Some((v, r))) => {
            item.push(text(format!("Repeated runs: {}. ", measured(v, r, c))));
            let finding = match outcome.support {
                Some(Support::Supported) => {
                    format!("Supported: {}.", verdict_phrase(v, c, s.alpha))
                }
                Some(Support::NotSupported) => format!(
                    "Not supported: no detectable difference at α = {}.",
                    s.alpha
                ),
                Some(Support::Contradicted) => format!(
                    "Contradicted: the difference is significant in the other direction ({}).",
                    verdict_phrase(v, c, s.alpha)
                ),
                None if c.test.is_none() => {
                    "Not evaluated: each side needs at least two seeds.".into()
                }
                None => format!("Finding: {}.", verdict_phrase(v, c, s.alpha)),
            };
            item.push(Strong(finding));
        }
        _ => {
            let missing: Vec<&str> = [&claim.variant, &claim.reference]
                .into_iter()
                .filter(|n| s.variant(n).is_none())
                .map(String::as_str)
                .collect();
            item.push(Strong(format!(
                "Not evaluated: {} not run in this study.",
                missing.join(" and ")
            )));
        }
    }
    item
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `mean ± std` with `digits` decimals; the mean alone with one value.
fn mean_std(e: &Estimate, digits: usize) -> String {
    match e.std {
        Some(sd) => format!("{:.digits$} ± {:.digits$}", e.mean, sd),
        None => format!("{:.digits$}", e.mean),
    }
}

fn interval(e: &Estimate) -> String {
    e.ci95
        .map_or("—".into(), |[lo, hi]| format!("[{lo:.4}, {hi:.4}]"))
}

fn signed(x: f64) -> String {
    format!("{x:+.4}")
}

fn p_value(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if seconds < 3600.0 {
        format!(
            "{} min {:02} s",
            (seconds / 60.0) as u64,
            seconds as u64 % 60
        )
    } else {
        format!(
            "{} h {:02} min",
            (seconds / 3600.0) as u64,
            (seconds as u64 % 3600) / 60
        )
    }
}

/// A relative link to a figure, with the characters that would break a Markdown or HTML link
/// escaped.
fn figure_link(stem: &str, ext: &str) -> String {
    let mut link = format!("{FIGURES_DIR}/");
    for c in format!("{stem}.{ext}").chars() {
        if c.is_ascii_alphanumeric() || "-_./".contains(c) {
            link.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                link.push_str(&format!("%{b:02X}"));
            }
        }
    }
    link
}

fn to_markdown(doc: &[Block]) -> String {
    let inline = |parts: &[Inline]| -> String {
        parts
            .iter()
            .map(|p| match p {
                Text(t) => t.clone(),
                Strong(t) => format!("**{t}**"),
                Code(t) => format!("`{t}`"),
            })
            .collect()
    };
    let cell = |c: &str| c.replace('|', "\\|");
    let mut out = String::new();
    for block in doc {
        match block {
            Block::Heading(level, t) => {
                out.push_str(&format!("{} {t}\n\n", "#".repeat(*level as usize)));
            }
            Block::Paragraph(parts) => out.push_str(&format!("{}\n\n", inline(parts))),
            Block::List(items) => {
                for item in items {
                    out.push_str(&format!("- {}\n", inline(item)));
                }
                out.push('\n');
            }
            Block::Table(header, rows) => {
                out.push_str(&format!("| {} |\n", header.join(" | ")));
                out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                out.push('\n');
            }
            Block::Image(alt, stem) => out.push_str(&format!(
                "![{alt}]({}) ([SVG]({}))\n\n",
                figure_link(stem, "png"),
                figure_link(stem, "svg")
            )),
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn to_html(doc: &[Block]) -> String {
    let inline = |parts: &[Inline]| -> String {
        parts
            .iter()
            .map(|p| match p {
                Text(t) => escape(t),
                Strong(t) => format!("<strong>{}</strong>", escape(t)),
                Code(t) => format!("<code>{}</code>", escape(t)),
            })
            .collect()
    };
    let title = doc
        .iter()
        .find_map(|b| match b {
            Block::Heading(1, t) => Some(escape(t)),
            _ => None,
        })
        .unwrap_or_default();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <style>\nbody {{ font-family: sans-serif; max-width: 1400px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }}\n\
         table {{ border-collapse: collapse; font-size: 0.9em; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}\n\
         th:first-child, td:first-child {{ text-align: left; }}\n\
         img {{ max-width: 100%; display: block; margin: 1em 0; }}\n</style>\n</head>\n<body>\n"
    );
    for block in doc {
        match block {
            Block::Heading(level, t) => {
                out.push_str(&format!("<h{level}>{}</h{level}>\n", escape(t)))
            }
            Block::Paragraph(parts) => out.push_str(&format!("<p>{}</p>\n", inline(parts))),
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    out.push_str(&format!("<li>{}</li>\n", inline(item)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(header, rows) => {
                out.push_str("<table>\n<thead><tr>");
                for h in header {
                    out.push_str(&format!("<th>{}</th>", escape(h)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for c in row {
                        out.push_str(&format!("<td>{}</td>", escape(c)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Image(alt, stem) => out.push_str(&format!(
                "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
                escape(&figure_link(stem, "svg")),
                escape(alt),
                escape(alt)
            )),
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(125.0), "2 min 05 s");
        assert_eq!(duration(7_380.0), "2 h 03 min");
        assert_eq!(p_value(0.00001), "< 0.0001");
        assert_eq!(p_value(0.01234), "0.0123");
        assert_eq!(signed(-0.00215), "-0.0022");
        assert_eq!(
            figure_link("loss_my run", "svg"),
            "figures/loss_my%20run.svg"
        );
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        let e = Estimate::of(&[0.87, 0.88, 0.89]).unwrap();
        assert_eq!(mean_std(&e, 4), "0.8800 ± 0.0100");
        assert_eq!(interval(&e), "[0.8552, 0.9048]");
    }
}
