//! Which reviews of an evaluation a model got right, one bit each.

use serde::{Deserialize, Serialize};

/// Which reviews of an evaluation set a model classified correctly, in the set's order: one bit
/// a review, written in JSON as hexadecimal (25,000 test reviews in 6,250 digits), so that a
/// study can resample the test reviews as well as the seeds (a paired bootstrap) from the runs'
/// `results.json` alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Encoded", into = "Encoded")]
pub struct ReviewOutcomes {
    reviews: usize,
    /// Bit `i % 8` (least significant first) of byte `i / 8`: review `i` was right.
    bits: Vec<u8>,
}

/// The JSON form of [`ReviewOutcomes`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Encoded {
    /// Number of reviews.
    reviews: usize,
    /// The bits as lowercase hexadecimal, two digits a byte.
    correct: String,
}

impl ReviewOutcomes {
    /// The outcomes of `correct`, review by review.
    pub fn from_correct(correct: impl IntoIterator<Item = bool>) -> Self {
        let mut outcomes = Self {
            reviews: 0,
            bits: Vec::new(),
        };
        for right in correct {
            if outcomes.reviews.is_multiple_of(8) {
                outcomes.bits.push(0);
            }
            if right {
                *outcomes.bits.last_mut().expect("pushed above") |= 1 << (outcomes.reviews % 8);
            }
            outcomes.reviews += 1;
        }
        outcomes
    }

    /// Number of reviews.
    pub fn len(&self) -> usize {
        self.reviews
    }

    /// Whether there is no review.
    pub fn is_empty(&self) -> bool {
        self.reviews == 0
    }

    /// Whether review `i` was classified correctly.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn is_correct(&self, i: usize) -> bool {
        assert!(i < self.reviews, "review {i} of {}", self.reviews);
        self.bits[i / 8] >> (i % 8) & 1 == 1
    }

    /// How many reviews were classified correctly.
    pub fn correct(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Every review's outcome, in order.
    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.reviews).map(|i| self.is_correct(i))
    }
}

impl From<ReviewOutcomes> for Encoded {
    fn from(outcomes: ReviewOutcomes) -> Self {
        use std::fmt::Write;
        let mut correct = String::with_capacity(outcomes.bits.len() * 2);
        for b in &outcomes.bits {
            write!(correct, "{b:02x}").expect("writing to a String cannot fail");
        }
        Self {
            reviews: outcomes.reviews,
            correct,
        }
    }
}

impl TryFrom<Encoded> for ReviewOutcomes {
    type Error = String;

    fn try_from(encoded: Encoded) -> Result<Self, String> {
        let Encoded { reviews, correct } = encoded;
        if correct.len() != reviews.div_ceil(8) * 2 {
            return Err(format!(
                "{} hex digits for {reviews} reviews; expected {}",
                correct.len(),
                reviews.div_ceil(8) * 2
            ));
        }
        let bits = (0..correct.len())
            .step_by(2)
            .map(|k| {
                let pair = correct.get(k..k + 2).ok_or("not ASCII hex")?;
                u8::from_str_radix(pair, 16).map_err(|_| format!("{pair:?} is not a hex byte"))
            })
            .collect::<Result<Vec<u8>, String>>()?;
        // Bits past the last review must be 0, so equal outcomes have one encoding.
        if reviews % 8 != 0 && bits.last().is_some_and(|b| b >> (reviews % 8) != 0) {
            return Err("bits set past the last review".into());
        }
        Ok(Self { reviews, bits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_json_and_count() {
        let pattern: Vec<bool> = (0..21).map(|i| i % 3 != 1).collect();
        let outcomes = ReviewOutcomes::from_correct(pattern.iter().copied());
        assert_eq!((outcomes.len(), outcomes.correct()), (21, 14));
        assert_eq!(outcomes.iter().collect::<Vec<_>>(), pattern);
        let json = serde_json::to_string(&outcomes).unwrap();
        // Review 0 → bit 0 of byte 0: 0b01101101 = 6d, then 0b11011011 = db, then 0b10110 = 16.
        assert_eq!(json, r#"{"reviews":21,"correct":"6ddb16"}"#);
        assert_eq!(
            serde_json::from_str::<ReviewOutcomes>(&json).unwrap(),
            outcomes
        );
        for bad in [
            r#"{"reviews":21,"correct":"6ddb"}"#,
            r#"{"reviews":21,"correct":"6ddbz6"}"#,
            r#"{"reviews":21,"correct":"6ddbf6"}"#,
            r#"{"reviews":21,"correct":"6ddb16","extra":1}"#,
        ] {
            assert!(
                serde_json::from_str::<ReviewOutcomes>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
