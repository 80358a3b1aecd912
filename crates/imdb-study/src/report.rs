//! `report.md`, `report.html` and `summary.json` from a [`Summary`].
//!
//! Every sentence that states a finding is built from the numbers: the report is laid out once as
//! a small document (blocks) and rendered twice, so Markdown and HTML cannot disagree.

use super::claims::{ClaimOutcome, Support};
use super::design::Design;
use super::figures::{
    EFFECTS_STEM, FIGURES_DIR, FOREST_STEM, INTERACTIONS_STEM, TEST_ACCURACY_STEM, compare_stem,
    loss_stem, write_figures,
};
use super::summary::{
    CLAIMS_FAMILY, Comparison, FACTORIAL_FAMILY, FactorialSummary, Summary, VARIANTS_FAMILY,
    VariantSummary, Verdict,
};
use crate::error::{Result, StudyError};
use crate::stats::linear_model::FactorialFit;
use crate::stats::ttest::Estimate;
use std::path::Path;

/// Writes `bytes` to `path` atomically ([`imdb_data::atomic::write`]).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    imdb_data::atomic::write(path, bytes).map_err(|e| StudyError::io(path, e))
}

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
    Table(Vec<String>, Vec<Vec<String>>),
    /// Alt text and the file stem under `figures/`.
    Image(String, String),
}

use Inline::{Code, Strong, Text};

fn text(s: impl Into<String>) -> Inline {
    Text(s.into())
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> Block {
    Block::Table(header.iter().map(|h| h.to_string()).collect(), rows)
}

fn document(s: &Summary) -> Vec<Block> {
    let seeds: Vec<usize> = s.variants.iter().map(|v| v.runs.len()).collect();
    let seeds_text = match (seeds.iter().min(), seeds.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => format!("{lo} seed{}", plural(*lo)),
        (Some(lo), Some(hi)) => format!("{lo} to {hi} seeds"),
        _ => "no runs".into(),
    };
    let title = match s.design {
        Design::Factorial => format!(
            "IMDB multi-hot MLP: factorial design, {} cells × {seeds_text}",
            s.variants.len()
        ),
        _ => format!(
            "IMDB multi-hot MLP: {} variant{} × {seeds_text}",
            s.variants.len(),
            plural(s.variants.len())
        ),
    };
    let mut doc = vec![
        Block::Heading(1, title),
        Block::Paragraph(vec![text(format!(
            "Every run follows the seed notebook's protocol: train with validation, choose the \
             retraining epoch from the validation history (each config's selection rule), \
             retrain from scratch on all {} training reviews for that many epochs, evaluate on \
             the {} test reviews. Backend: {}. Data checksum: {}. The runs' wall times add up \
             to {} (several ran at once).",
            thousands(s.train_reviews),
            thousands(s.test_reviews),
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
    match s.design {
        Design::Factorial => factorial_document(s, &mut doc),
        _ => variants_document(s, &mut doc),
    }
    doc.push(Block::Heading(2, "Every run".into()));
    doc.push(runs_table(s));
    doc
}

/// The level of the family's corrected intervals, e.g. "99.38%".
fn corrected_level(alpha: f64, m: usize) -> String {
    format!("{:.2}%", 100.0 * (1.0 - alpha / m.max(1) as f64))
}

fn variants_document(s: &Summary, doc: &mut Vec<Block>) {
    let family = s.family(VARIANTS_FAMILY);
    let m = family.map_or(0, |f| f.size);
    doc.push(Block::Heading(2, "Results".into()));
    doc.push(results_table(s, m));
    if family.is_some() {
        doc.push(Block::Image(
            "Each variant's difference in test accuracy from the baseline, with its corrected \
             intervals over seeds and over test reviews and seeds"
                .into(),
            FOREST_STEM.into(),
        ));
    }
    doc.push(Block::Paragraph(vec![
        Strong("How to read this.".into()),
        text(format!(
            " Each difference is judged against two sources of variation. The interval over \
             seeds, from {}, generalises over training randomness (initialisation, shuffling, \
             dropout) on these {} test reviews: another seed, the same test set. The interval \
             over test reviews and seeds, from {} with {} replicates (seed {}), also resamples \
             the test reviews, shared by both sides: another seed on another sample of reviews \
             like these, which is what a claim about the variants is about. Each family of \
             tests is corrected \
             by Holm's method at family-wise α = {}: p is the raw p-value, Holm p the adjusted \
             one, and the intervals are at the Bonferroni level 1 − α/m ({} for the {} \
             comparisons with the baseline). MDD is the smallest true difference the test \
             would detect with {:.0}% power at Holm's first-step level α/m, from the observed \
             spread: “no detectable difference” means no difference that large.",
            s.test,
            thousands(s.test_reviews),
            "a paired bootstrap's standard error",
            s.bootstrap.replicates,
            s.bootstrap.seed,
            s.alpha,
            corrected_level(s.alpha, m),
            m,
            100.0 * s.power
        )),
    ]));

    let heading = match family {
        Some(f) => format!(
            "Each variant against the baseline (family “{}”, m = {} over seeds, {} over \
             reviews + seeds)",
            f.name, f.size, f.bootstrap_size
        ),
        None => "Each variant against the baseline".into(),
    };
    doc.push(Block::Heading(2, heading));
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

    let heading = match s.family(CLAIMS_FAMILY) {
        Some(f) => format!(
            "The seed notebook's claims (family “{}”, m = {} over seeds, {} over reviews + \
             seeds)",
            f.name, f.size, f.bootstrap_size
        ),
        None => "The seed notebook's claims".into(),
    };
    doc.push(Block::Heading(2, heading));
    doc.push(Block::Paragraph(vec![text(
        "The seed drew each of these conclusions from a single run. Here each is tested over \
         the seeds above, the claims together as one family (Holm); claims on test accuracy \
         are also tested over test reviews and seeds.",
    )]));
    doc.push(Block::List(
        s.claims.iter().map(|c| claim_item(s, c)).collect(),
    ));

    doc.push(Block::Heading(2, "Per variant".into()));
    doc.push(details_table(s));

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
}

fn results_table(s: &Summary, m: usize) -> Block {
    let level = corrected_level(s.alpha, m);
    let header = vec![
        "variant".to_string(),
        "seeds".into(),
        "test accuracy".into(),
        "Δ vs baseline".into(),
        format!("over seeds: {level} interval"),
        "p".into(),
        "Holm p".into(),
        format!("over reviews + seeds: {level} interval"),
        "p".into(),
        "Holm p".into(),
        "MDD (seeds / reviews + seeds)".into(),
        "verdict".into(),
    ];
    let dash = || "—".to_string();
    let rows = s
        .variants
        .iter()
        .map(|v| {
            let mut row = vec![
                v.name.clone(),
                v.runs.len().to_string(),
                mean_std(&v.test_accuracy, 4),
            ];
            match &v.vs_baseline {
                None => {
                    row.extend((0..8).map(|_| dash()));
                    row.push("(reference)".into());
                }
                Some(c) => {
                    let b = c.bootstrap.as_ref();
                    row.extend([
                        c.test.as_ref().map_or_else(dash, |t| signed(t.diff)),
                        c.ci_adjusted.map_or_else(dash, span),
                        c.test.as_ref().map_or_else(dash, |t| p_value(t.p)),
                        c.p_holm.map_or_else(dash, p_value),
                        b.map_or_else(dash, |b| span(b.ci_adjusted)),
                        b.map_or_else(dash, |b| p_value(b.p)),
                        b.map_or_else(dash, |b| p_value(b.p_holm)),
                        format!(
                            "{} / {}",
                            c.mdd.map_or_else(dash, |d| format!("{d:.4}")),
                            b.map_or_else(dash, |b| format!("{:.4}", b.mdd))
                        ),
                        c.verdict_label(),
                    ]);
                }
            }
            row
        })
        .collect();
    Block::Table(header, rows)
}

fn details_table(s: &Summary) -> Block {
    let rows = s
        .variants
        .iter()
        .map(|v| {
            vec![
                v.name.clone(),
                v.runs.len().to_string(),
                mean_std(&v.chosen_epoch, 1),
                mean_std(&v.best_val_accuracy, 4),
                mean_std(&v.test_accuracy, 4),
                interval(&v.test_accuracy),
                v.test_accuracy_ci95_reviews
                    .map_or("—".into(), |[lo, hi]| format!("[{lo:.4}, {hi:.4}]")),
                mean_std(&v.test_loss, 4),
                mean_std(&v.final_val_loss, 4),
                duration(v.wall_seconds),
            ]
        })
        .collect();
    table(
        &[
            "variant",
            "seeds",
            "chosen epoch",
            "best val. accuracy",
            "test accuracy",
            "95% CI over seeds",
            "95% CI over reviews + seeds",
            "test loss",
            "last val. loss",
            "wall time",
        ],
        rows,
    )
}

fn runs_table(s: &Summary) -> Block {
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
    table(
        &[
            "variant",
            "seed",
            "chosen epoch",
            "best val. accuracy",
            "lowest val. loss",
            "last val. loss",
            "test accuracy",
            "test loss",
            "wall time",
        ],
        rows,
    )
}

/// "test accuracy 0.8812 (40 seeds) vs 0.8790 (40 seeds), difference +0.0022. Over seeds: …"
fn measured(v: &VariantSummary, reference: &VariantSummary, c: &Comparison, alpha: f64) -> String {
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
    let Some(t) = &c.test else {
        return format!("{head}; not tested: each side needs at least two seeds");
    };
    let level = corrected_level(alpha, c.family_size);
    let mut out = format!(
        "{head}, difference {}. Over seeds: {level} interval {}, {}, Holm-adjusted {}",
        signed(t.diff),
        c.ci_adjusted.map_or("—".into(), span),
        p_is(t.p),
        c.p_holm.map_or("—".into(), p_value),
    );
    if let Some(b) = &c.bootstrap {
        out.push_str(&format!(
            ". Over test reviews and seeds: {} interval {}, {}, Holm-adjusted {}",
            corrected_level(alpha, b.family_size),
            span(b.ci_adjusted),
            p_is(b.p),
            p_value(b.p_holm)
        ));
    }
    out
}

/// The verdict sentence of a comparison, with what would have been detectable where nothing was.
/// Without a subject ("worse than baseline on test accuracy over seeds ..."), so that it follows
/// the variant's name in a list item or a claim; `true` with a sentence that starts with the
/// direction ("better ..." or "worse ..."), which reads after "<variant> is".
fn verdict_sentence(c: &Comparison, alpha: f64) -> (bool, String) {
    let both = c.bootstrap.as_ref().map(|b| b.verdict);
    let versus = |verdict: Verdict| {
        format!(
            "{} than {} on {}",
            verdict.label(),
            c.reference,
            c.metric.label()
        )
    };
    let mdd = || match (c.mdd, c.bootstrap.as_ref()) {
        (Some(d), Some(b)) => format!(
            "; a true difference of ±{d:.4} over seeds (±{:.4} over test reviews and seeds) \
             would have been detected with 80% power",
            b.mdd
        ),
        (Some(d), None) => format!(
            "; a true difference of ±{d:.4} over seeds would have been detected with 80% power"
        ),
        _ => String::new(),
    };
    match (c.verdict, both) {
        (Verdict::NotTested, _) => (false, "not tested".into()),
        (seeds @ (Verdict::Better | Verdict::Worse), Some(b)) if b == seeds => (
            true,
            format!(
                "{} over seeds and over test reviews and seeds (family-wise α = {alpha})",
                versus(seeds)
            ),
        ),
        (seeds @ (Verdict::Better | Verdict::Worse), Some(Verdict::NoDetectableDifference)) => (
            true,
            format!(
                "{} over seeds, but not once the test reviews are resampled too (family-wise α = \
                 {alpha})",
                versus(seeds)
            ),
        ),
        (seeds @ (Verdict::Better | Verdict::Worse), None) => (
            true,
            format!("{} over seeds (family-wise α = {alpha})", versus(seeds)),
        ),
        (Verdict::NoDetectableDifference, Some(b @ (Verdict::Better | Verdict::Worse))) => (
            true,
            format!(
                "{} over test reviews and seeds, but not over seeds (family-wise α = {alpha})",
                versus(b)
            ),
        ),
        _ => (
            false,
            format!(
                "no detectable difference at family-wise α = {alpha}{}",
                mdd()
            ),
        ),
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
        text(format!(": {}. ", measured(v, baseline, c, alpha))),
        Strong(capitalised(&verdict_sentence(c, alpha).1)),
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
            item.push(text(format!(
                "Repeated runs: {}. ",
                measured(v, r, c, s.alpha)
            )));
            // "three_layers is worse than baseline ...", or "no detectable difference ...".
            let (directed, sentence) = verdict_sentence(c, s.alpha);
            let said = if directed {
                format!("{} is {sentence}", v.name)
            } else {
                sentence
            };
            let finding = match outcome.support {
                Some(Support::Supported) => format!("Supported after Holm's correction: {said}."),
                Some(Support::NotSupported) => {
                    format!("Not supported after Holm's correction: {said}.")
                }
                Some(Support::Contradicted) => {
                    format!("Contradicted: the difference goes the other way: {said}.")
                }
                None if c.test.is_none() => {
                    "Not evaluated: each side needs at least two seeds.".into()
                }
                None => format!("Finding: {said}."),
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

fn factorial_document(s: &Summary, doc: &mut Vec<Block>) {
    let Some(f) = &s.factorial else {
        return;
    };
    let Some(fit) = &f.fit else {
        doc.push(Block::Paragraph(vec![
            Strong("No analysis.".into()),
            text(format!(
                " The linear model cannot be fitted: {}.",
                f.error.as_deref().unwrap_or("unknown reason")
            )),
        ]));
        doc.push(Block::Heading(2, "Cells".into()));
        doc.push(cells_table(s));
        return;
    };
    let m = fit.anova.terms.len();
    doc.push(Block::Heading(2, "What each choice is worth".into()));
    doc.push(Block::Paragraph(vec![text(format!(
        "A linear model of test accuracy on the five choices (effect coding) with every main \
         effect and every two-way interaction, fitted to all {} runs ({} per cell; residual sd \
         {:.4}, R² = {:.3}). A choice's effect is the difference in mean test accuracy from the \
         seed's choice, averaged over the other four choices. The {m} terms of the model are one \
         family (“{FACTORIAL_FAMILY}”), Holm-adjusted at family-wise α = {}; MDD is the \
         smallest true effect detected with {:.0}% power at α/{m}. The intervals are over seeds \
         (the test reviews fixed).",
        fit.observations,
        fit.per_cell,
        fit.sigma,
        fit.r_squared,
        s.alpha,
        100.0 * s.power
    ))]));
    doc.push(effects_table(f, fit, s.alpha));
    doc.push(Block::Image(
        "What each choice is worth: its effect on test accuracy with a 95% interval".into(),
        EFFECTS_STEM.into(),
    ));
    doc.push(Block::List(effect_sentences(f, fit, s.alpha)));

    doc.push(Block::Heading(2, "Which choices interact".into()));
    doc.push(Block::List(interaction_sentences(fit, s.alpha)));
    doc.push(interactions_table(fit, s.alpha));
    doc.push(Block::Image(
        "Interactions: mean test accuracy per pair of choices".into(),
        INTERACTIONS_STEM.into(),
    ));

    doc.push(Block::Heading(2, "Analysis of variance".into()));
    let mut rows: Vec<Vec<String>> = fit
        .anova
        .terms
        .iter()
        .map(|r| {
            vec![
                r.term.clone(),
                r.df.to_string(),
                format!("{:.3e}", r.sum_sq),
                format!("{:.3e}", r.mean_sq),
                format!("{:.2}", r.f),
                p_value(r.p),
                p_value(r.p_holm),
                significance(r.p_holm, s.alpha).into(),
            ]
        })
        .collect();
    for (name, ss) in [
        ("residual", &fit.anova.residual),
        ("total", &fit.anova.total),
    ] {
        rows.push(vec![
            name.into(),
            ss.df.to_string(),
            format!("{:.3e}", ss.sum_sq),
            format!("{:.3e}", ss.mean_sq),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
        ]);
    }
    doc.push(table(
        &[
            "term",
            "df",
            "sum of squares",
            "mean square",
            "F",
            "p",
            "Holm p",
            "verdict",
        ],
        rows,
    ));
    doc.push(Block::Heading(2, "Cells".into()));
    doc.push(cells_table(s));
}

fn significance(p_holm: f64, alpha: f64) -> &'static str {
    if p_holm <= alpha {
        "significant"
    } else {
        "not detectable"
    }
}

fn effects_table(f: &FactorialSummary, fit: &FactorialFit, alpha: f64) -> Block {
    let rows = f
        .effects
        .iter()
        .map(|e| {
            let term = fit.term(&e.factor);
            vec![
                format!("{}: {}", e.factor, e.level),
                e.baseline.clone(),
                signed(e.estimate),
                span(e.ci95),
                format!("{:.4}", e.mdd),
                term.map_or("—".into(), |r| {
                    format!("{:.2} ({}, {})", r.f, r.df, fit.anova.residual.df)
                }),
                term.map_or("—".into(), |r| p_value(r.p)),
                term.map_or("—".into(), |r| p_value(r.p_holm)),
                term.map_or("—", |r| significance(r.p_holm, alpha)).into(),
            ]
        })
        .collect();
    table(
        &[
            "choice",
            "instead of",
            "effect on test accuracy",
            "95% interval",
            "MDD",
            "F (df)",
            "p",
            "Holm p",
            "verdict",
        ],
        rows,
    )
}

fn effect_sentences(f: &FactorialSummary, fit: &FactorialFit, alpha: f64) -> Vec<Vec<Inline>> {
    fit.factors
        .iter()
        .map(|factor| {
            let effects: Vec<String> = f
                .effects
                .iter()
                .filter(|e| e.factor == factor.name)
                .map(|e| {
                    format!(
                        "{} instead of {}: {} [{}, {}]",
                        e.level,
                        e.baseline,
                        signed(e.estimate),
                        signed(e.ci95[0]),
                        signed(e.ci95[1])
                    )
                })
                .collect();
            let mdd = f
                .effects
                .iter()
                .filter(|e| e.factor == factor.name)
                .map(|e| e.mdd)
                .fold(0.0, f64::max);
            let finding = match fit.term(&factor.name) {
                Some(r) if r.p_holm <= alpha => format!(
                    "It matters (F = {:.2}, Holm-adjusted {}).",
                    r.f,
                    p_is(r.p_holm)
                ),
                Some(r) => format!(
                    "No detectable effect (Holm-adjusted {}): an effect of ±{mdd:.4} would \
                     have been found with 80% power.",
                    p_is(r.p_holm)
                ),
                None => String::new(),
            };
            vec![
                Strong(factor.name.clone()),
                text(format!(
                    ": {}, averaged over the other choices. ",
                    effects.join("; ")
                )),
                Strong(finding),
            ]
        })
        .collect()
}

fn interaction_sentences(fit: &FactorialFit, alpha: f64) -> Vec<Vec<Inline>> {
    let mut items = Vec::new();
    let mut quiet = Vec::new();
    for pair in &fit.pairs {
        let Some(row) = fit.term(&pair.term) else {
            continue;
        };
        if row.p_holm > alpha {
            quiet.push((row.p_holm, pair.term.clone()));
            continue;
        }
        // The first factor's effect at each level of the second, from the marginal means.
        let a = fit.factors.iter().find(|f| f.name == pair.a);
        let b = fit.factors.iter().find(|f| f.name == pair.b);
        let (Some(a), Some(b)) = (a, b) else { continue };
        let simple: Vec<String> = (1..a.levels.len())
            .map(|i| {
                let at: Vec<String> = (0..b.levels.len())
                    .map(|j| {
                        format!(
                            "{} with {} {}",
                            signed(pair.means[i][j] - pair.means[0][j]),
                            b.name,
                            b.levels[j]
                        )
                    })
                    .collect();
                format!(
                    "{} instead of {} changes test accuracy by {}",
                    a.levels[i],
                    a.levels[0],
                    at.join(", ")
                )
            })
            .collect();
        items.push(vec![
            Strong(format!("{} × {} interact", pair.a, pair.b)),
            text(format!(
                " (F = {:.2}, Holm-adjusted {}): {}.",
                row.f,
                p_is(row.p_holm),
                simple.join("; ")
            )),
        ]);
    }
    quiet.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (rest, meaning) = if items.is_empty() {
        (
            "No two choices interact detectably",
            "the effect of each choice does not measurably depend on the others",
        )
    } else {
        (
            "No other pair interacts detectably",
            "within every other pair, the effect of one choice does not measurably depend on \
             the other",
        )
    };
    let largest = quiet
        .first()
        .map(|(p, term)| {
            format!(
                "; the strongest of them is {term} (Holm-adjusted {})",
                p_is(*p)
            )
        })
        .unwrap_or_default();
    if !quiet.is_empty() {
        items.push(vec![text(format!(
            "{rest} after Holm's correction over the {} terms{largest}: {meaning}.",
            fit.anova.terms.len()
        ))]);
    }
    items
}

fn interactions_table(fit: &FactorialFit, alpha: f64) -> Block {
    let rows = fit
        .pairs
        .iter()
        .flat_map(|pair| {
            let row = fit.term(&pair.term);
            pair.contrasts.iter().map(move |c| {
                vec![
                    pair.term.clone(),
                    format!(
                        "({} − {}) with {} {} minus with {} {}",
                        c.a_level, c.a_baseline, pair.b, c.b_level, pair.b, c.b_baseline
                    ),
                    signed(c.estimate),
                    span(c.ci95),
                    row.map_or("—".into(), |r| format!("{:.2}", r.f)),
                    row.map_or("—".into(), |r| p_value(r.p_holm)),
                    row.map_or("—", |r| significance(r.p_holm, alpha)).into(),
                ]
            })
        })
        .collect();
    table(
        &[
            "interaction",
            "difference of differences",
            "estimate",
            "95% interval",
            "term F",
            "term Holm p",
            "verdict",
        ],
        rows,
    )
}

fn cells_table(s: &Summary) -> Block {
    let rows = s
        .variants
        .iter()
        .map(|v| {
            vec![
                v.name.clone(),
                v.runs.len().to_string(),
                mean_std(&v.test_accuracy, 4),
                interval(&v.test_accuracy),
                mean_std(&v.chosen_epoch, 1),
                duration(v.wall_seconds),
            ]
        })
        .collect();
    table(
        &[
            "cell",
            "seeds",
            "test accuracy",
            "95% CI over seeds",
            "chosen epoch",
            "wall time",
        ],
        rows,
    )
}

/// `25000` as `25,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn span([lo, hi]: [f64; 2]) -> String {
    format!("[{}, {}]", signed(lo), signed(hi))
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

/// Below this a p-value is written as a bound.
const P_FLOOR: f64 = 1e-4;

/// "p = 0.0123", or "p < 0.0001".
fn p_is(p: f64) -> String {
    let value = p_value(p);
    if p < P_FLOOR {
        format!("p {value}")
    } else {
        format!("p = {value}")
    }
}

/// "0.0123", or "< 0.0001".
fn p_value(p: f64) -> String {
    if p < P_FLOOR {
        format!("< {P_FLOOR:.4}")
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
        assert_eq!(thousands(25_000), "25,000");
        assert_eq!(thousands(2_500), "2,500");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
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
