//! Keras's `imdb.load_data` encoding options and their exact semantics.

use crate::error::{DataError, Result};
use crate::numpy_rng::NumpyRandomState;
use crate::split::Split;
use crate::vocab::UNRANKED;
use serde::{Deserialize, Serialize};

/// A word unseen in training stays at this index after shifting, and is always out of vocabulary.
const UNSEEN: u32 = UNRANKED;

/// How raw word ranks become model inputs, with the meaning and defaults of Keras's
/// `keras.datasets.imdb.load_data` (except `num_words`, which defaults to the seed notebook's 10,000).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncodeOptions {
    /// Keep only indices below this (after `index_from` is added); others become `oov_char`
    /// (or are dropped when `oov_char` is `None`). `None` keeps every word.
    pub num_words: Option<usize>,
    /// Indices below this are treated as out of vocabulary too (Keras applies it to the start
    /// character as well).
    pub skip_top: usize,
    /// Drop reviews whose sequence (start character included) is not shorter than this.
    ///
    /// Keras drops them from the concatenation of both splits and then splits at the *old* training
    /// length, which moves test reviews into training; here each split is filtered on its own.
    pub maxlen: Option<usize>,
    /// Seed of the numpy `RandomState` that shuffles train, then test (113 in Keras).
    pub seed: u32,
    /// Index prepended to every review (`None`: no start marker).
    pub start_char: Option<u32>,
    /// Index that replaces out-of-vocabulary words (`None`: drop them).
    pub oov_char: Option<u32>,
    /// Offset added to every word rank, reserving `0..index_from` for padding, start and OOV.
    pub index_from: u32,
    /// 1: terms are words (Keras). 2: words and pairs of consecutive words, ranked together by
    /// training frequency, so `num_words` counts both (see [`crate::ngrams`]); 3: and triples.
    /// Sequences are then about `ngrams` times as long, which `maxlen` sees. Needs the source's
    /// word index.
    pub ngrams: u8,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            num_words: Some(10_000),
            skip_top: 0,
            maxlen: None,
            seed: 113,
            start_char: Some(1),
            oov_char: Some(2),
            index_from: 3,
            ngrams: 1,
        }
    }
}

impl EncodeOptions {
    /// The seed notebook's options: Keras's defaults with `num_words = 10_000`.
    pub fn keras() -> Self {
        Self::default()
    }

    /// Sets `num_words`.
    pub fn with_num_words(mut self, num_words: Option<usize>) -> Self {
        self.num_words = num_words;
        self
    }

    /// Sets `ngrams` (1, 2 or 3).
    pub fn with_ngrams(mut self, ngrams: u8) -> Self {
        self.ngrams = ngrams;
        self
    }

    /// How many terms of a frequency ranking can survive `num_words` (`None`: all of them):
    /// ranks `1..=n` become indices `index_from + 1 .. num_words`.
    #[cfg(feature = "loader")]
    pub(crate) fn kept_ranks(&self) -> Option<usize> {
        self.num_words
            .map(|n| n.saturating_sub(self.index_from as usize + 1))
    }

    /// Checks every option before any data is touched.
    ///
    /// # Errors
    /// [`DataError::InvalidOption`] naming the option when `num_words` leaves no room for a word
    /// (`num_words <= index_from`, i.e. below 4 with Keras's defaults), `maxlen` is 0, or the start
    /// or OOV character is not below `num_words`.
    pub fn validate(&self) -> Result<()> {
        crate::ngrams::validate(self.ngrams)?;
        if let Some(n) = self.num_words {
            if n <= self.index_from as usize || n > u32::MAX as usize {
                return Err(DataError::InvalidOption {
                    name: "num_words",
                    value: n.to_string(),
                    reason: "must be greater than index_from (at least 4 with Keras's defaults)",
                });
            }
            if self.skip_top >= n {
                return Err(DataError::InvalidOption {
                    name: "skip_top",
                    value: self.skip_top.to_string(),
                    reason: "must be below num_words: at or above it, every word is out of vocabulary",
                });
            }
            for (name, ch) in [("start_char", self.start_char), ("oov_char", self.oov_char)] {
                if ch.is_some_and(|c| c as usize >= n) {
                    return Err(DataError::InvalidOption {
                        name,
                        value: format!("{ch:?}"),
                        reason: "must be below num_words",
                    });
                }
            }
        }
        if self.maxlen == Some(0) {
            return Err(DataError::InvalidOption {
                name: "maxlen",
                value: "0".into(),
                reason: "must be at least 1 (or unset)",
            });
        }
        Ok(())
    }

    /// Width of a multi-hot vector for data encoded with these options: `num_words`, or, when
    /// every word is kept, one more than the largest index in `splits`.
    pub fn vocabulary_width(&self, splits: &[&Split]) -> usize {
        match self.num_words {
            Some(n) => n,
            None => splits
                .iter()
                .filter_map(|s| s.max_token())
                .max()
                .map_or(0, |m| m as usize + 1),
        }
    }

    /// Applies the options to raw word ranks (1 = most frequent word), as Keras does:
    /// shuffle train then test with one `RandomState(seed)`, prepend `start_char`, add `index_from`,
    /// drop long reviews, then map indices outside `skip_top..num_words` to `oov_char`.
    ///
    /// # Errors
    /// The [`EncodeOptions::validate`] errors, and [`DataError::InvalidOption`] on `maxlen` if it
    /// removes every review of a split (Keras raises `ValueError` then too).
    pub fn encode(&self, train: &Split, test: &Split) -> Result<(Split, Split)> {
        self.validate()?;
        let mut rng = NumpyRandomState::new(self.seed);
        let train = self.shuffle_and_shift(train, &mut rng);
        let test = self.shuffle_and_shift(test, &mut rng);
        let limit = match self.num_words {
            Some(n) => n as u64,
            // Keras: `num_words = max(max(x) for x in xs)`, and then `w < num_words` drops that
            // very word; we keep every word instead, which is what "no limit" means.
            None => {
                let ranked = |s: &Split| {
                    s.flat_tokens()
                        .iter()
                        .copied()
                        .filter(|&w| w != UNSEEN)
                        .max()
                };
                u64::from(ranked(&train).max(ranked(&test)).unwrap_or(0)) + 1
            }
        };
        if let Some(maxlen) = self.maxlen
            && let Some(split) = [("training", &train), ("test", &test)]
                .into_iter()
                .find_map(|(name, s)| s.is_empty().then_some(name))
        {
            return Err(DataError::InvalidOption {
                name: "maxlen",
                value: maxlen.to_string(),
                reason: if split == "training" {
                    "keeps no review of the training split (Keras keeps reviews of fewer than maxlen tokens, the start character included)"
                } else {
                    "keeps no review of the test split (Keras keeps reviews of fewer than maxlen tokens, the start character included)"
                },
            });
        }
        let finish = |s: Split| -> Split {
            s.iter()
                .map(|(tokens, label)| {
                    (
                        self.restrict(tokens.iter().copied(), limit).collect(),
                        label,
                    )
                })
                .collect()
        };
        Ok((finish(train), finish(test)))
    }

    /// Encodes one review's raw word ranks (from [`WordIndex::ranks_of`](crate::WordIndex::ranks_of))
    /// exactly as [`encode`](Self::encode) encodes each review, for prediction on new text:
    /// prepend `start_char`, add `index_from`, map indices outside `skip_top..num_words` (and
    /// unranked words) to `oov_char`.
    ///
    /// Neither shuffles nor applies `maxlen`: a single new review is never dropped. With
    /// `num_words = None` every ranked word is kept, as `encode` keeps every word of the data.
    pub fn encode_one(&self, ranks: &[u32]) -> Vec<u32> {
        let limit = self.num_words.map_or(u64::MAX, |n| n as u64);
        self.restrict(self.shift(ranks), limit).collect()
    }

    /// `start_char`, then every rank plus `index_from` (an unranked word stays [`UNSEEN`]).
    fn shift<'a>(&self, ranks: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
        let index_from = self.index_from;
        self.start_char
            .into_iter()
            .chain(ranks.iter().map(move |&w| w.saturating_add(index_from)))
    }

    /// Keeps shifted indices in `skip_top..limit`, replacing the others by `oov_char` (or dropping
    /// them when it is `None`).
    fn restrict<'a>(
        &'a self,
        indices: impl Iterator<Item = u32> + 'a,
        limit: u64,
    ) -> impl Iterator<Item = u32> + 'a {
        let kept = self.skip_top as u64..limit;
        indices.filter_map(move |w| {
            if w != UNSEEN && kept.contains(&u64::from(w)) {
                Some(w)
            } else {
                self.oov_char
            }
        })
    }

    fn shuffle_and_shift(&self, raw: &Split, rng: &mut NumpyRandomState) -> Split {
        let mut order: Vec<usize> = (0..raw.len()).collect();
        rng.shuffle(&mut order);
        let mut out = Split::new();
        for i in order {
            let tokens = raw.tokens(i);
            let len = tokens.len() + usize::from(self.start_char.is_some());
            if self.maxlen.is_some_and(|m| len >= m) {
                continue;
            }
            out.push(self.shift(tokens), raw.label(i));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> Split {
        // Ranks as in Keras's imdb.npz: 1 = most frequent.
        [
            (vec![1, 2, 3], 1),
            (vec![4, 9_996, 9_997, UNRANKED], 0),
            (vec![], 1),
            (vec![5; 6], 0),
        ]
        .into_iter()
        .collect()
    }

    fn sorted(s: &Split) -> Vec<(Vec<u32>, u8)> {
        let mut v: Vec<_> = s.iter().map(|(t, l)| (t.to_vec(), l)).collect();
        v.sort();
        v
    }

    #[test]
    fn defaults_are_the_notebooks() {
        let o = EncodeOptions::default();
        assert_eq!(
            (o.num_words, o.seed, o.start_char, o.oov_char, o.index_from),
            (Some(10_000), 113, Some(1), Some(2), 3)
        );
    }

    #[test]
    fn start_char_index_from_and_oov() {
        let (tr, _) = EncodeOptions::default()
            .encode(&raw(), &Split::new())
            .unwrap();
        // 9996 + 3 = 9999 < 10000 is kept; 9997 + 3 = 10000 and unseen words become oov 2.
        assert_eq!(
            sorted(&tr),
            [
                (vec![1], 1),
                (vec![1, 4, 5, 6], 1),
                (vec![1, 7, 9_999, 2, 2], 0),
                (vec![1, 8, 8, 8, 8, 8, 8], 0),
            ]
        );
        assert_eq!(tr.max_token(), Some(9_999));
    }

    #[test]
    fn shuffle_is_numpys_and_continues_into_test() {
        // np.random.RandomState(113): shuffling arange(10) gives [9,3,6,1,0,7,4,8,2,5], then
        // arange(7) gives [5,1,0,3,6,4,2] (see numpy_rng's tests for provenance).
        let ten: Split = (0..10).map(|i| (vec![i], (i % 2) as u8)).collect();
        let seven: Split = (0..7).map(|i| (vec![i], 0)).collect();
        let o = EncodeOptions {
            start_char: None,
            index_from: 0,
            num_words: None,
            ..Default::default()
        };
        let (tr, te) = o.encode(&ten, &seven).unwrap();
        let firsts = |s: &Split| s.iter().map(|(t, _)| t[0]).collect::<Vec<_>>();
        assert_eq!(firsts(&tr), [9, 3, 6, 1, 0, 7, 4, 8, 2, 5]);
        assert_eq!(firsts(&te), [5, 1, 0, 3, 6, 4, 2]);
        // Labels travel with their reviews.
        assert!(tr.iter().all(|(t, l)| u32::from(l) == t[0] % 2));
    }

    #[test]
    fn oov_none_drops_and_skip_top_replaces() {
        let o = EncodeOptions {
            oov_char: None,
            ..Default::default()
        };
        let (tr, _) = o.encode(&raw(), &Split::new()).unwrap();
        assert!(sorted(&tr).contains(&(vec![1, 7, 9_999], 0)));
        // skip_top=5: indices below 5 (start char 1, the top word at 1 + 3 = 4) become oov 2;
        // Keras keeps `skip_top <= w < num_words`, so 5 stays.
        let o = EncodeOptions {
            skip_top: 5,
            ..Default::default()
        };
        let (tr, _) = o.encode(&raw(), &Split::new()).unwrap();
        assert!(sorted(&tr).contains(&(vec![2, 2, 5, 6], 1)));
    }

    #[test]
    fn maxlen_drops_long_reviews_per_split() {
        // Lengths with start char: 4, 5, 1, 7. Keras keeps len < maxlen.
        let o = EncodeOptions {
            maxlen: Some(5),
            ..Default::default()
        };
        let (tr, te) = o.encode(&raw(), &raw()).unwrap();
        assert_eq!(tr.len(), 2);
        assert_eq!(te.len(), 2);
        assert!(tr.iter().all(|(t, _)| t.len() < 5));
    }

    #[test]
    fn encode_one_matches_encode() {
        for o in [
            EncodeOptions::default(),
            EncodeOptions {
                skip_top: 5,
                oov_char: None,
                ..Default::default()
            },
        ] {
            let (tr, _) = o.encode(&raw(), &Split::new()).unwrap();
            let mut one: Vec<Vec<u32>> = raw().iter().map(|(t, _)| o.encode_one(t)).collect();
            one.sort();
            let mut all: Vec<Vec<u32>> = sorted(&tr).into_iter().map(|(t, _)| t).collect();
            all.sort();
            assert_eq!(one, all, "{o:?}");
        }
        // Empty text: the start character alone.
        assert_eq!(EncodeOptions::default().encode_one(&[]), [1]);
    }

    #[test]
    fn num_words_none_keeps_everything_but_unseen() {
        let o = EncodeOptions {
            num_words: None,
            ..Default::default()
        };
        let (tr, _) = o.encode(&raw(), &Split::new()).unwrap();
        assert!(sorted(&tr).contains(&(vec![1, 7, 9_999, 10_000, 2], 0)));
        assert_eq!(o.vocabulary_width(&[&tr]), 10_001);
    }

    #[test]
    fn invalid_options_are_named() {
        for (o, name) in [
            (
                EncodeOptions {
                    num_words: Some(3),
                    ..Default::default()
                },
                "num_words",
            ),
            (
                EncodeOptions {
                    maxlen: Some(0),
                    ..Default::default()
                },
                "maxlen",
            ),
            (
                EncodeOptions {
                    num_words: Some(10),
                    oov_char: Some(10),
                    ..Default::default()
                },
                "oov_char",
            ),
        ] {
            match o.validate() {
                Err(DataError::InvalidOption { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{o:?}: expected InvalidOption({name}), got {other:?}"),
            }
        }
        assert!(
            EncodeOptions {
                num_words: Some(4),
                ..Default::default()
            }
            .validate()
            .is_ok()
        );
    }
}
