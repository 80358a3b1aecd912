//! Compact storage for a list of labelled token sequences.

/// Labelled token sequences in one buffer: sequence `i` is `tokens[offsets[i]..offsets[i + 1]]`.
///
/// Used both for Keras-style raw word ranks and for the final encoded reviews, so 25,000 reviews
/// cost two allocations instead of 25,000.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    tokens: Vec<u32>,
    offsets: Vec<usize>,
    labels: Vec<u8>,
}

impl Split {
    /// An empty split.
    pub fn new() -> Self {
        Self {
            tokens: Vec::new(),
            offsets: vec![0],
            labels: Vec::new(),
        }
    }

    /// Builds a split from its parts.
    ///
    /// # Panics
    /// If `offsets` does not start at 0, is not non-decreasing, does not end at `tokens.len()`,
    /// or does not have `labels.len() + 1` entries.
    pub fn from_parts(tokens: Vec<u32>, offsets: Vec<usize>, labels: Vec<u8>) -> Self {
        assert!(
            Self::parts_are_consistent(&tokens, &offsets, &labels),
            "inconsistent split parts"
        );
        Self {
            tokens,
            offsets,
            labels,
        }
    }

    /// Whether `from_parts` would accept these parts (used to validate cache files).
    pub(crate) fn parts_are_consistent(tokens: &[u32], offsets: &[usize], labels: &[u8]) -> bool {
        offsets.len() == labels.len() + 1
            && offsets.first() == Some(&0)
            && offsets.last() == Some(&tokens.len())
            && offsets.windows(2).all(|w| w[0] <= w[1])
    }

    /// Appends one sequence.
    pub fn push(&mut self, tokens: impl IntoIterator<Item = u32>, label: u8) {
        self.tokens.extend(tokens);
        self.offsets.push(self.tokens.len());
        self.labels.push(label);
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The tokens of sequence `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn tokens(&self, i: usize) -> &[u32] {
        &self.tokens[self.offsets[i]..self.offsets[i + 1]]
    }

    /// The label of sequence `i` (0 = negative, 1 = positive).
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The whole token buffer.
    pub fn flat_tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Sequence boundaries (`len() + 1` entries).
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Iterates over `(tokens, label)` pairs.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u32], u8)> + '_ {
        (0..self.len()).map(|i| (self.tokens(i), self.labels[i]))
    }

    /// A new split with the sequences in the order given by `order` (indices into `self`).
    pub fn reordered(&self, order: &[usize]) -> Split {
        let mut out = Split::new();
        out.tokens.reserve(self.tokens.len());
        out.offsets.reserve(order.len());
        out.labels.reserve(order.len());
        for &i in order {
            out.push(self.tokens(i).iter().copied(), self.labels[i]);
        }
        out
    }

    /// The sequences `range` as a new split where each is its sorted, distinct tokens: all a
    /// multi-hot vector sees of a review. Deduplicating once here spares every batch of every
    /// epoch the sort.
    pub fn word_sets(&self, range: std::ops::Range<usize>) -> Split {
        use rayon::prelude::*;
        let width = self.max_token().map_or(0, |m| m as usize + 1);
        // Per review: mark its tokens in a bitmap, then read the marks back in order. Linear in
        // tokens + width/64, where sorting each review was the slowest step of a whole run.
        let sets: Vec<Vec<u32>> = range
            .clone()
            .into_par_iter()
            .map_init(
                || vec![0u64; width.div_ceil(64)],
                |marks, i| {
                    let tokens = self.tokens(i);
                    let (mut lo, mut hi) = (usize::MAX, 0);
                    for &t in tokens {
                        let w = t as usize / 64;
                        marks[w] |= 1 << (t % 64);
                        (lo, hi) = (lo.min(w), hi.max(w));
                    }
                    let mut set = Vec::with_capacity(tokens.len());
                    // An empty review leaves lo > hi, which `get_mut` answers with None.
                    for (k, word) in marks.get_mut(lo..=hi).into_iter().flatten().enumerate() {
                        let base = ((lo + k) * 64) as u32;
                        let mut bits = std::mem::take(word);
                        while bits != 0 {
                            set.push(base + bits.trailing_zeros());
                            bits &= bits - 1;
                        }
                    }
                    set
                },
            )
            .collect();
        let mut out = Split::new();
        out.tokens.reserve(sets.iter().map(Vec::len).sum());
        for (set, &label) in sets.into_iter().zip(&self.labels[range]) {
            out.push(set, label);
        }
        out
    }

    /// The sequences `range`, copied into a new split.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Split {
        let order: Vec<usize> = range.collect();
        self.reordered(&order)
    }

    /// Number of positive and negative labels, as `(positive, negative)`.
    pub fn label_counts(&self) -> (usize, usize) {
        let pos = self.labels.iter().filter(|&&l| l == 1).count();
        (pos, self.len() - pos)
    }

    /// Length of the longest sequence (0 when empty).
    pub fn max_len(&self) -> usize {
        self.offsets
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    /// Largest token value (None when there are no tokens).
    pub fn max_token(&self) -> Option<u32> {
        self.tokens.iter().copied().max()
    }
}

impl FromIterator<(Vec<u32>, u8)> for Split {
    fn from_iter<T: IntoIterator<Item = (Vec<u32>, u8)>>(iter: T) -> Self {
        let mut s = Split::new();
        for (tokens, label) in iter {
            s.push(tokens, label);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::Split;

    #[test]
    fn push_get_reorder_slice() {
        let s: Split = [(vec![1, 2], 1), (vec![], 0), (vec![7], 1)]
            .into_iter()
            .collect();
        assert_eq!(s.len(), 3);
        assert_eq!(s.tokens(0), [1, 2]);
        assert!(s.tokens(1).is_empty());
        assert_eq!(s.label_counts(), (2, 1));
        assert_eq!(s.max_len(), 2);
        assert_eq!(s.max_token(), Some(7));
        let r = s.reordered(&[2, 0]);
        assert_eq!(
            r.iter().collect::<Vec<_>>(),
            [(&[7u32][..], 1), (&[1, 2][..], 1)]
        );
        assert_eq!(s.slice(1..3).offsets(), [0, 0, 1]);
    }

    /// Against the obvious sort + dedup, on reviews with repeats, empty ones, and ids on both
    /// sides of the bitmap's 64-bit word boundaries.
    #[test]
    fn word_sets_are_sorted_distinct_tokens() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n) as u32
        };
        let s: Split = (0..200)
            .map(|r| {
                let len = if r % 7 == 0 { 0 } else { next(300) as usize };
                let row: Vec<u32> = (0..len).map(|_| next(1000)).chain([63, 64, 63]).collect();
                (row, (r % 2) as u8)
            })
            .collect();
        let sets = s.word_sets(5..200);
        assert_eq!(sets.len(), 195);
        for (i, (set, label)) in sets.iter().enumerate() {
            let mut expected = s.tokens(i + 5).to_vec();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(set, expected, "review {}", i + 5);
            assert_eq!(label, s.label(i + 5));
        }
        assert!(Split::new().word_sets(0..0).is_empty());
    }
}
