//! Input weighting: how much each feature of a multi-hot row counts, computed from the training
//! reviews of a phase and stored in the model ([`imdb_model::InputWeights`]).
//!
//! The one weighting so far is NBSVM's log-count ratio (Wang & Manning 2012, "Baselines and
//! Bigrams"): a term's weight is how much more often it occurs in positive than in negative
//! training reviews, on a log scale, so "7/10" and "waste of" enter the first layer large and
//! "the" near zero. It is computed on the reviews a phase trains on only: in phase 1 the
//! training part (never the validation reviews), in phase 2 all training reviews (never the test
//! set); the model saved at the end holds phase 2's weights, so prediction applies them.

use imdb_data::ImdbDataset;
use serde::{Deserialize, Serialize};

/// How the features of a multi-hot row are weighted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// NBSVM's log-count ratio `r = ln((p/‖p‖₁) / (q/‖q‖₁))`, with `p = α + Σ x` over the
    /// positive training reviews and `q = α + Σ x` over the negative ones (`x` a review's
    /// multi-hot row); `α = 1` in the paper.
    NbLogCountRatio {
        /// Smoothing added to every count, > 0.
        alpha: f64,
    },
}

impl Weighting {
    /// The weight of every feature `0..width`, from the reviews of `train`.
    ///
    /// Each review counts a term once (multi-hot); ids at or above `width` are ignored (the
    /// encoding keeps them below `num_words`). Computed in `f64` and rounded once to `f32`.
    pub fn weights(&self, train: &ImdbDataset, width: usize) -> Vec<f32> {
        match *self {
            Weighting::NbLogCountRatio { alpha } => {
                let mut counts = [vec![0u32; width], vec![0u32; width]];
                // last[i]: the last review that counted id i, so repeats count once.
                let mut last = vec![usize::MAX; width];
                for r in 0..train.len() {
                    let (ids, label) = train.review(r);
                    let counts = &mut counts[usize::from(label != 0)];
                    for &i in ids {
                        let i = i as usize;
                        if i < width && last[i] != r {
                            last[i] = r;
                            counts[i] += 1;
                        }
                    }
                }
                let [neg, pos] = counts;
                let norm = |c: &[u32]| c.iter().map(|&n| f64::from(n) + alpha).sum::<f64>();
                let (p1, q1) = (norm(&pos), norm(&neg));
                pos.iter()
                    .zip(&neg)
                    .map(|(&p, &q)| {
                        (((f64::from(p) + alpha) / p1) / ((f64::from(q) + alpha) / q1)).ln() as f32
                    })
                    .collect()
            }
        }
    }

    /// Checks the weighting's parameters, naming the bad one.
    pub(crate) fn invalid(&self) -> Option<(&'static str, String)> {
        match *self {
            Weighting::NbLogCountRatio { alpha } if !(alpha.is_finite() && alpha > 0.0) => {
                Some(("weighting.alpha", alpha.to_string()))
            }
            Weighting::NbLogCountRatio { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imdb_data::Split;
    use std::sync::Arc;

    fn dataset(reviews: &[(&[u32], u8)]) -> ImdbDataset {
        let split: Split = reviews.iter().map(|(ids, l)| (ids.to_vec(), *l)).collect();
        ImdbDataset::new(Arc::new(split))
    }

    /// By hand, α = 1, width 4: positive reviews {1, 2}, {1, 2, 2} give p = [1, 3, 3, 1] (‖p‖ =
    /// 8; the repeated 2 counts once), the negative review {1, 3} gives q = [1, 2, 1, 2] (‖q‖ =
    /// 6). So r = ln((p/8)/(q/6)) = ln(0.75·p/q).
    #[test]
    fn log_count_ratios_by_hand() {
        let train = dataset(&[(&[1, 2], 1), (&[1, 2, 2], 1), (&[1, 3], 0)]);
        let w = Weighting::NbLogCountRatio { alpha: 1.0 }.weights(&train, 4);
        let expected = [0.75f64, 0.75 * 1.5, 0.75 * 3.0, 0.75 * 0.5].map(|x| x.ln() as f32);
        assert_eq!(w, expected);
        // Ids beyond the width are ignored rather than a panic.
        let wider = dataset(&[(&[1, 2, 9], 1), (&[1, 2, 2], 1), (&[1, 3], 0)]);
        assert_eq!(
            Weighting::NbLogCountRatio { alpha: 1.0 }.weights(&wider, 4),
            expected
        );
    }

    #[test]
    fn alpha_must_be_positive() {
        assert!(
            Weighting::NbLogCountRatio { alpha: 1.0 }
                .invalid()
                .is_none()
        );
        for bad in [0.0, -1.0, f64::NAN] {
            let (field, value) = Weighting::NbLogCountRatio { alpha: bad }.invalid().unwrap();
            assert_eq!((field, value), ("weighting.alpha", bad.to_string()));
        }
    }
}
