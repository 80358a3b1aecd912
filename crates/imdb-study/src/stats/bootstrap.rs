//! A paired bootstrap over test reviews and seeds for the accuracy difference of two variants.
//!
//! A t test over per-seed accuracies sees only seed-to-seed variation: it treats the 25,000 test
//! reviews as fixed. But the test set is itself a sample, and a variant that wins on *these*
//! reviews may not win on others. Resampling both the reviews and the seeds puts both sources of
//! variation into one interval.
//!
//! One replicate:
//! 1. draw `k_a` of the variant's seeds with replacement, and independently `k_b` of the
//!    reference's (the runs of the two variants are independent);
//! 2. draw `N` review indices with replacement — the *same* indices for both sides, because both
//!    were evaluated on the same reviews and a hard review is hard for both (pairing removes that
//!    shared variation from the difference);
//! 3. the statistic is mean accuracy over the drawn seeds on the drawn reviews, variant minus
//!    reference.
//!
//! The interval is the percentile interval of the replicates. Resampling rows and columns of a
//! crossed (review × seed) array is known to be mildly conservative — it counts the review×seed
//! interaction about three times (McCullagh 2000, "Resampling and exchangeable arrays",
//! Bernoulli 6:285–301; Owen 2007, "The pigeonhole bootstrap", Ann. Appl. Stat. 1:386–411) — so
//! when the per-review outcomes of different seeds are nearly independent coin flips, the interval
//! is too wide (the tests measure both cases).
//!
//! Speed: step 2 draws `N` indices per replicate, unavoidably. The counts of how often each review
//! was drawn are then sliced into bit planes — plane `p` holds bit `p` of every review's count —
//! so that "correct answers of seed `s` on the drawn reviews" is `Σ_p 2^p·popcount(plane_p &
//! seed_s)`, 64 reviews per instruction, instead of a pass over `N` reviews per seed.
//!
//! Randomness comes from [`crate::stats::rng::Xoshiro256`], written out in this crate, so an interval
//! reported with its seed can be recomputed bit for bit whatever crate versions are resolved.

use serde::{Deserialize, Serialize};

use crate::stats::rng::Xoshiro256;

/// One run's correctness on the `len` test reviews, one bit per review (1 = correct), review `i`
/// in bit `i % 64` of word `i / 64`. Bits past `len` in the last word are zero.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Correctness {
    /// Number of reviews.
    pub len: usize,
    /// `len.div_ceil(64)` words of bits.
    pub bits: Vec<u64>,
}

impl Correctness {
    /// Packs one flag per review.
    pub fn from_bools(correct: &[bool]) -> Correctness {
        let mut bits = vec![0u64; correct.len().div_ceil(64)];
        for (i, _) in correct.iter().enumerate().filter(|(_, c)| **c) {
            bits[i / 64] |= 1 << (i % 64);
        }
        Correctness {
            len: correct.len(),
            bits,
        }
    }

    /// The number of correctly classified reviews.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether review `i` was classified correctly.
    ///
    /// # Panics
    /// If `i >= len`.
    pub fn get(&self, i: usize) -> bool {
        assert!(i < self.len, "review {i} out of {}", self.len);
        self.bits[i / 64] >> (i % 64) & 1 == 1
    }

    /// The number of reviews.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no reviews.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The accuracy, `count / len` (`NaN` for no reviews).
    pub fn accuracy(&self) -> f64 {
        self.count() as f64 / self.len as f64
    }

    /// Whether the representation is consistent: the right number of words and no bits past
    /// `len` (which would be counted as correct answers on reviews that do not exist).
    fn is_well_formed(&self) -> bool {
        self.bits.len() == self.len.div_ceil(64)
            && (self.len.is_multiple_of(64) || self.bits[self.len / 64] >> (self.len % 64) == 0)
    }
}

/// The settings of a bootstrap run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Number of replicates (2,000 is plenty for a 95% percentile interval).
    pub replicates: usize,
    /// Seed of the random number generator: the same seed and data give the same result.
    pub seed: u64,
    /// Confidence level of the interval, e.g. 0.95.
    pub level: f64,
}

impl Default for BootstrapConfig {
    /// 2,000 replicates, seed 0, 95%.
    fn default() -> BootstrapConfig {
        BootstrapConfig {
            replicates: 2000,
            seed: 0,
            level: 0.95,
        }
    }
}

/// The result of [`paired_bootstrap`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedBootstrap {
    /// Observed difference: mean accuracy of the variant's seeds minus the reference's.
    pub diff: f64,
    /// Percentile interval of the replicates at `level` (quantiles interpolated linearly between
    /// order statistics, as NumPy's default `percentile`).
    pub ci: [f64; 2],
    /// The confidence level of `ci`.
    pub level: f64,
    /// Standard deviation of the replicates (the bootstrap standard error).
    pub se: f64,
    /// Two-sided bootstrap p-value for "no difference": `min(1, 2·(1 + r)/(B + 1))` with `r` the
    /// number of replicates on the far side of 0 from the bulk (`min(#{d* ≤ 0}, #{d* ≥ 0})`,
    /// ties at 0 counting against) and `B` the number of replicates. The `+1`s count the observed
    /// data as one of the replicates, so p is never 0 (Davison & Hinkley 1997, §4.2).
    pub p: f64,
    /// Number of replicates `B`.
    pub replicates: usize,
    /// The seed the replicates were drawn with.
    pub seed: u64,
    /// Number of test reviews `N`.
    pub reviews: usize,
    /// Number of the variant's seeds.
    pub variant_seeds: usize,
    /// Number of the reference's seeds.
    pub reference_seeds: usize,
}

/// Why a bootstrap cannot run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BootstrapError {
    /// A side has no runs.
    NoSeeds,
    /// The runs cover no reviews.
    NoReviews,
    /// Runs disagree on the number of reviews (they must share one test set).
    LengthMismatch {
        /// The number of reviews of the first variant run.
        expected: usize,
        /// A different number found.
        found: usize,
    },
    /// A [`Correctness`] has the wrong number of words or bits set past its length.
    Malformed,
    /// At least one replicate is needed.
    NoReplicates,
    /// The level must be in `(0, 1)`.
    Level(f64),
}

impl std::fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BootstrapError::NoSeeds => write!(f, "each side needs at least one run"),
            BootstrapError::NoReviews => write!(f, "the runs cover no reviews"),
            BootstrapError::LengthMismatch { expected, found } => {
                write!(
                    f,
                    "runs cover {expected} and {found} reviews; they must share a test set"
                )
            }
            BootstrapError::Malformed => write!(f, "a correctness bitset is malformed"),
            BootstrapError::NoReplicates => write!(f, "at least one replicate is needed"),
            BootstrapError::Level(l) => write!(f, "level must be in (0, 1), got {l}"),
        }
    }
}

impl std::error::Error for BootstrapError {}

/// The paired bootstrap over reviews and seeds of `mean accuracy(variant) - mean
/// accuracy(reference)`; see the module documentation for the scheme.
pub fn paired_bootstrap(
    variant: &[Correctness],
    reference: &[Correctness],
    config: &BootstrapConfig,
) -> Result<PairedBootstrap, BootstrapError> {
    paired_bootstrap_at(variant, reference, config, &[]).map(|(result, _)| result)
}

/// [`paired_bootstrap`], with the percentile intervals at `levels` as well, from the same
/// replicates (e.g. a 95% interval and one at the Bonferroni level `1 - α/m` of a family).
pub fn paired_bootstrap_at(
    variant: &[Correctness],
    reference: &[Correctness],
    config: &BootstrapConfig,
    levels: &[f64],
) -> Result<(PairedBootstrap, Vec<[f64; 2]>), BootstrapError> {
    if let Some(&bad) = std::iter::once(&config.level)
        .chain(levels)
        .find(|l| !(**l > 0.0 && **l < 1.0))
    {
        return Err(BootstrapError::Level(bad));
    }
    let mut replicates = replicates(variant, reference, config.replicates, config.seed)?;
    let mean_accuracy = |runs: &[Correctness]| {
        runs.iter().map(Correctness::accuracy).sum::<f64>() / runs.len() as f64
    };
    let diff = mean_accuracy(variant) - mean_accuracy(reference);

    let b = replicates.len();
    let mean = replicates.iter().sum::<f64>() / b as f64;
    let se = if b > 1 {
        (replicates.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (b - 1) as f64).sqrt()
    } else {
        0.0
    };
    let below = replicates.iter().filter(|&&d| d <= 0.0).count();
    let above = replicates.iter().filter(|&&d| d >= 0.0).count();
    let p = (2.0 * (1 + below.min(above)) as f64 / (b + 1) as f64).min(1.0);

    replicates.sort_by(f64::total_cmp);
    let interval = |level: f64| {
        let tail = (1.0 - level) / 2.0;
        [
            quantile(&replicates, tail),
            quantile(&replicates, 1.0 - tail),
        ]
    };
    let result = PairedBootstrap {
        diff,
        ci: interval(config.level),
        level: config.level,
        se,
        p,
        replicates: b,
        seed: config.seed,
        reviews: variant[0].len,
        variant_seeds: variant.len(),
        reference_seeds: reference.len(),
    };
    Ok((result, levels.iter().map(|&l| interval(l)).collect()))
}

/// The bootstrap of one variant's mean accuracy, resampling its seeds and the test reviews as
/// [`paired_bootstrap`] does: its replicates against a reference that is wrong on every review,
/// which adds nothing to any replicate (`diff` is then the mean accuracy itself).
pub fn accuracy_bootstrap(
    runs: &[Correctness],
    config: &BootstrapConfig,
) -> Result<PairedBootstrap, BootstrapError> {
    let len = runs.first().map_or(0, Correctness::len);
    let wrong = [Correctness::from_bools(&vec![false; len])];
    paired_bootstrap(runs, &wrong, config)
}

/// The `q` quantile of sorted values, interpolating linearly between order statistics at
/// position `q·(n-1)` (Hyndman & Fan type 7, NumPy's and R's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = q * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The `count` bootstrap replicates of the difference, in the order drawn.
///
/// # Panics
/// If there are 2³² reviews or more ([`DrawnReviews::new`]).
fn replicates(
    variant: &[Correctness],
    reference: &[Correctness],
    count: usize,
    seed: u64,
) -> Result<Vec<f64>, BootstrapError> {
    if variant.is_empty() || reference.is_empty() {
        return Err(BootstrapError::NoSeeds);
    }
    if count == 0 {
        return Err(BootstrapError::NoReplicates);
    }
    let n = variant[0].len;
    if let Some(run) = variant.iter().chain(reference).find(|r| r.len != n) {
        return Err(BootstrapError::LengthMismatch {
            expected: n,
            found: run.len,
        });
    }
    if n == 0 {
        return Err(BootstrapError::NoReviews);
    }
    if !variant
        .iter()
        .chain(reference)
        .all(Correctness::is_well_formed)
    {
        return Err(BootstrapError::Malformed);
    }

    let mut drawn = DrawnReviews::new(n);
    let words = drawn.words;
    let (ka, kb) = (variant.len(), reference.len());
    let mut mult_a = vec![0u64; ka];
    let mut mult_b = vec![0u64; kb];
    let mut rng = Xoshiro256::seed_from_u64(seed);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        // 1. Seeds, independently per side.
        mult_a.fill(0);
        mult_b.fill(0);
        for _ in 0..ka {
            mult_a[rng.below(ka as u64) as usize] += 1;
        }
        for _ in 0..kb {
            mult_b[rng.below(kb as u64) as usize] += 1;
        }
        // 2. Reviews, shared.
        drawn.draw(&mut rng);
        let (planes, used) = (&drawn.planes, drawn.used);
        // 3. Correct answers of each drawn seed on the drawn reviews, then the weighted means.
        let weighted = |runs: &[Correctness], mult: &[u64]| -> u64 {
            runs.iter()
                .zip(mult)
                .filter(|(_, m)| **m > 0)
                .map(|(run, m)| {
                    let correct: u64 = (0..used)
                        .map(|p| {
                            let plane = &planes[p * words..(p + 1) * words];
                            let ones: u64 = plane
                                .iter()
                                .zip(&run.bits)
                                .map(|(a, b)| u64::from((a & b).count_ones()))
                                .sum();
                            ones << p
                        })
                        .sum();
                    m * correct
                })
                .sum()
        };
        // Integer sums up to here, so the only rounding is in these two divisions.
        let acc_a = weighted(variant, &mult_a) as f64 / (ka * n) as f64;
        let acc_b = weighted(reference, &mult_b) as f64 / (kb * n) as f64;
        out.push(acc_a - acc_b);
    }
    Ok(out)
}

/// Step 2 of a replicate: `n` reviews drawn with replacement, and how often each was drawn as
/// bit planes (plane `p` holds bit `p` of every review's count, `words` words each).
///
/// The draws are counted first, then sliced into planes: a plain increment per draw, where
/// adding 1 into the planes directly branches on every draw's carry, which no predictor guesses.
/// Counts are bytes, eight of which a multiply slices at once. A count is about Poisson(1), so
/// one of 255 is practically never seen (probability below 10⁻⁴⁰⁰ a replicate for 25,000
/// reviews), but the planes must be exact: such a replicate is drawn again from the same
/// generator state with `u32` counts.
struct DrawnReviews {
    n: usize,
    words: usize,
    /// One count per review, padded to whole words with reviews never drawn.
    counts: Vec<u8>,
    /// The count at which a replicate is drawn again with `u32` counts: 255, lower in a test
    /// that makes the fallback happen.
    limit: u8,
    /// The counts of a replicate in which one reached 255.
    wide: Vec<u32>,
    planes: Vec<u64>,
    /// The planes that hold this replicate's counts: the bit length of the largest count.
    used: usize,
}

impl DrawnReviews {
    /// Room for the counts of `n` reviews.
    ///
    /// # Panics
    /// If `n` is 2³² or more (a count can reach `n`; the runs' bits alone would then take 512 MB
    /// each).
    fn new(n: usize) -> DrawnReviews {
        assert!(u32::try_from(n).is_ok(), "{n} reviews: a count is a u32");
        let words = n.div_ceil(64);
        // A review drawn c times needs bit_length(c) planes; c ≤ n, so bit_length(n) suffice.
        let max_planes = (usize::BITS - n.leading_zeros()) as usize;
        DrawnReviews {
            n,
            words,
            counts: vec![0; words * 64],
            limit: u8::MAX,
            wide: Vec::new(),
            planes: vec![0; max_planes * words],
            used: 0,
        }
    }

    /// Draws the `n` reviews of one replicate from `rng` and fills the planes.
    fn draw(&mut self, rng: &mut Xoshiro256) {
        let start = rng.clone();
        self.counts.fill(0);
        let mut full = false;
        for _ in 0..self.n {
            let c = &mut self.counts[rng.below(self.n as u64) as usize];
            *c = c.wrapping_add(1);
            full |= *c >= self.limit;
        }
        if full {
            *rng = start;
            self.draw_wide(rng);
            return;
        }
        self.used = bit_length(self.counts.iter().copied().max().map_or(0, u32::from));
        // Bit 8j of a word moves to bit 56 + j: one multiply gathers one bit of eight bytes.
        const LOW_BITS: u64 = 0x0101_0101_0101_0101;
        const GATHER: u64 = 0x0102_0408_1020_4080;
        for (w, reviews) in self.counts.chunks_exact(64).enumerate() {
            let (bytes, _) = reviews.as_chunks::<8>();
            for p in 0..self.used {
                self.planes[p * self.words + w] =
                    bytes.iter().enumerate().fold(0, |word, (k, b)| {
                        let bits = u64::from_le_bytes(*b) >> p & LOW_BITS;
                        word | (bits.wrapping_mul(GATHER) >> 56) << (8 * k)
                    });
            }
        }
    }

    /// [`DrawnReviews::draw`] with `u32` counts: the same draws, and the same planes.
    fn draw_wide(&mut self, rng: &mut Xoshiro256) {
        self.wide.clear();
        self.wide.resize(self.words * 64, 0);
        for _ in 0..self.n {
            self.wide[rng.below(self.n as u64) as usize] += 1;
        }
        self.used = bit_length(self.wide.iter().copied().max().unwrap_or(0));
        for (w, reviews) in self.wide.chunks_exact(64).enumerate() {
            for p in 0..self.used {
                self.planes[p * self.words + w] = reviews
                    .iter()
                    .enumerate()
                    .fold(0, |word, (j, &c)| word | u64::from(c >> p & 1) << j);
            }
        }
    }
}

/// The number of bits `x` needs (0 for 0).
fn bit_length(x: u32) -> usize {
    (u32::BITS - x.leading_zeros()) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::dist::normal_sf;
    use crate::stats::ttest::welch;

    #[test]
    fn correctness_packs_bits() {
        let flags: Vec<bool> = (0..130).map(|i| i % 3 == 0 || i == 129).collect();
        let c = Correctness::from_bools(&flags);
        assert_eq!((c.len(), c.bits.len()), (130, 3));
        assert_eq!(c.count(), flags.iter().filter(|f| **f).count());
        for (i, f) in flags.iter().enumerate() {
            assert_eq!(c.get(i), *f, "{i}");
        }
        assert!(c.is_well_formed());
        // 0, 3, …, 129: 44 reviews.
        assert_eq!(c.count(), 44);
        assert!((c.accuracy() - 44.0 / 130.0).abs() < 1e-15);
        let empty = Correctness::from_bools(&[]);
        assert!(empty.is_empty() && empty.bits.is_empty() && empty.is_well_formed());
    }

    /// Draws a standard normal pair by Box–Muller (fast enough for the coverage test's millions
    /// of draws even without optimisation).
    fn normal_pair(rng: &mut Xoshiro256) -> (f64, f64) {
        let r = (-2.0 * rng.next_f64().ln()).sqrt();
        let theta = std::f64::consts::TAU * rng.next_f64();
        (r * theta.cos(), r * theta.sin())
    }

    fn normals(rng: &mut Xoshiro256, n: usize, sd: f64) -> Vec<f64> {
        let mut v = Vec::with_capacity(n + 1);
        while v.len() < n {
            let (a, b) = normal_pair(rng);
            v.extend([a * sd, b * sd]);
        }
        v.truncate(n);
        v
    }

    /// A synthetic experiment shaped like the real one. Review `i` has a difficulty `z_i ~ N(0,1)`
    /// shared by both variants (so pairing matters), plus a variant-specific part `v_i ~ N(0, ω²)`
    /// (the reviews on which the variants disagree); seed `s` of a variant shifts it by
    /// `u_s ~ N(0, τ²)`; each (review, seed) gets noise `ε ~ N(0, σ²)`. Run `s` of the variant
    /// with threshold `c` gets review `i` right iff `z_i + v_i + u_s + ε_is > c`.
    ///
    /// The true difference — expected accuracy over the population of reviews and seeds — is then
    /// `Φ(-c_a/S) - Φ(-c_b/S)` with `S = √(1 + ω² + τ² + σ²)`.
    struct Synthetic {
        reviews: usize,
        seeds: usize,
        c: [f64; 2],
        omega: f64,
        tau: f64,
        sigma: f64,
    }

    impl Synthetic {
        fn truth(&self) -> f64 {
            let s = (1.0 + self.omega.powi(2) + self.tau.powi(2) + self.sigma.powi(2)).sqrt();
            normal_sf(self.c[0] / s) - normal_sf(self.c[1] / s)
        }

        fn draw(&self, rng: &mut Xoshiro256) -> [Vec<Correctness>; 2] {
            let z = normals(rng, self.reviews, 1.0);
            self.c.map(|c| {
                let v = normals(rng, self.reviews, self.omega);
                (0..self.seeds)
                    .map(|_| {
                        let u = normals(rng, 1, self.tau)[0];
                        let eps = normals(rng, self.reviews, self.sigma);
                        let flags: Vec<bool> = (0..self.reviews)
                            .map(|i| z[i] + v[i] + u + eps[i] > c)
                            .collect();
                        Correctness::from_bools(&flags)
                    })
                    .collect()
            })
        }
    }

    /// Independent coin flips: every (review, seed) correct with probability p, nothing shared.
    fn coin_flips(rng: &mut Xoshiro256, reviews: usize, seeds: usize, p: f64) -> Vec<Correctness> {
        (0..seeds)
            .map(|_| {
                let flags: Vec<bool> = (0..reviews).map(|_| rng.next_f64() < p).collect();
                Correctness::from_bools(&flags)
            })
            .collect()
    }

    /// A straightforward replicate loop (per-review counts, one pass over the reviews per seed)
    /// drawing in the same order as `replicates`, to check the bit-sliced version against.
    fn replicates_naive(a: &[Correctness], b: &[Correctness], count: usize, seed: u64) -> Vec<f64> {
        let n = a[0].len;
        let mut rng = Xoshiro256::seed_from_u64(seed);
        (0..count)
            .map(|_| {
                let sa: Vec<usize> = (0..a.len())
                    .map(|_| rng.below(a.len() as u64) as usize)
                    .collect();
                let sb: Vec<usize> = (0..b.len())
                    .map(|_| rng.below(b.len() as u64) as usize)
                    .collect();
                let idx: Vec<usize> = (0..n).map(|_| rng.below(n as u64) as usize).collect();
                let mean = |runs: &[Correctness], picks: &[usize]| {
                    let hits: usize = picks
                        .iter()
                        .map(|&s| idx.iter().filter(|&&i| runs[s].get(i)).count())
                        .sum();
                    hits as f64 / (picks.len() * n) as f64
                };
                mean(a, &sa) - mean(b, &sb)
            })
            .collect()
    }

    #[test]
    fn bit_sliced_replicates_equal_the_naive_ones() {
        let mut rng = Xoshiro256::seed_from_u64(5);
        // 200 reviews: not a multiple of 64, and small enough for counts up to 5 or 6 (3 planes).
        let a = coin_flips(&mut rng, 200, 4, 0.8);
        let b = coin_flips(&mut rng, 200, 3, 0.7);
        let fast = replicates(&a, &b, 50, 99).unwrap();
        let slow = replicates_naive(&a, &b, 50, 99);
        // Both sum the same integers and divide once: equal to the last bit.
        assert_eq!(fast, slow);
        // A single review: every draw hits it, n = 1 needs one plane.
        let one = [Correctness::from_bools(&[true])];
        let zero = [Correctness::from_bools(&[false])];
        assert_eq!(replicates(&one, &zero, 3, 1).unwrap(), [1.0, 1.0, 1.0]);
    }

    /// The byte counts and the `u32` counts a replicate falls back to give the same planes from
    /// the same generator state and consume the same draws, for the IMDB test set's size and
    /// sizes that are not a multiple of 64; and the fallback itself (a limit of 3, which counts
    /// reach in most replicates of 1,000 reviews, instead of 255, which they never do) rewinds
    /// the generator and gives those planes too.
    #[test]
    fn wide_counts_slice_into_the_same_planes() {
        for (n, limit) in [
            (25_000, u8::MAX),
            (1_000, u8::MAX),
            (130, u8::MAX),
            (1, u8::MAX),
            (1_000, 3),
        ] {
            let (mut bytes, mut wide) = (DrawnReviews::new(n), DrawnReviews::new(n));
            bytes.limit = limit;
            let (mut a, mut b) = (Xoshiro256::seed_from_u64(3), Xoshiro256::seed_from_u64(3));
            let mut fell_back = 0;
            for _ in 0..5 {
                bytes.draw(&mut a);
                wide.draw_wide(&mut b);
                fell_back += usize::from(bytes.counts.iter().any(|&c| c >= limit));
                assert_eq!(bytes.used, wide.used, "{n} reviews");
                let used = bytes.used * bytes.words;
                assert_eq!(bytes.planes[..used], wide.planes[..used], "{n} reviews");
                assert_eq!(a.next_u64(), b.next_u64(), "the same number of draws");
            }
            // A limit of 255 is never reached here; one of 3 is, so the fallback ran.
            assert_eq!(fell_back > 0, limit == 3, "{n} reviews, limit {limit}");
        }
    }

    #[test]
    fn reproducible_for_a_seed_and_different_for_another() {
        let mut rng = Xoshiro256::seed_from_u64(8);
        let a = coin_flips(&mut rng, 1000, 5, 0.85);
        let b = coin_flips(&mut rng, 1000, 5, 0.84);
        let config = BootstrapConfig {
            replicates: 500,
            seed: 42,
            level: 0.95,
        };
        let first = paired_bootstrap(&a, &b, &config).unwrap();
        let again = paired_bootstrap(&a, &b, &config).unwrap();
        assert_eq!(first, again);
        let other = paired_bootstrap(&a, &b, &BootstrapConfig { seed: 43, ..config }).unwrap();
        assert_ne!(first.ci, other.ci);
        // The observed difference does not depend on the seed; the replicates do.
        assert_eq!(first.diff, other.diff);
        assert_eq!((first.seed, other.seed, first.replicates), (42, 43, 500));
        assert!(
            first.ci[0] < first.diff && first.diff < first.ci[1],
            "{first:?}"
        );
        assert!(first.p > 0.0 && first.p <= 1.0);
    }

    #[test]
    fn covers_the_true_difference_about_95_percent_of_the_time() {
        // 200 independent synthetic experiments (500 reviews × 10 seeds per side, 499 replicates
        // each). The parameters give a review-dominated array in which the review×seed
        // interaction is a small part of the variance, as in the study's data (most reviews are
        // always right or always wrong); the design in Python (same model, NumPy generator, 500
        // experiments × 400 replicates) covered 95.6% with intervals 1.03× the width implied by
        // the true spread — the mild conservativeness the module docs describe.
        // Band 88–99%: the count of covering experiments is Binomial(200, ~0.955), sd ≈ 1.5
        // points, so [88, 99] is about −5 to +2.3 sd around 95.5% — wide enough for Monte Carlo
        // noise in the 499-replicate percentiles too, narrow enough to fail an interval that is
        // much too short (e.g. one ignoring review sampling: ~60–80%) or one that covers always.
        let design = Synthetic {
            reviews: 500,
            seeds: 10,
            c: [-1.2, -1.1],
            omega: 0.3,
            tau: 0.1,
            sigma: 0.2,
        };
        let truth = design.truth();
        // Φ(1.2/S) - Φ(1.1/S), S = √1.14: a 2.1-point gain.
        assert!((truth - 0.0209).abs() < 1e-4, "{truth}");
        let mut rng = Xoshiro256::seed_from_u64(2024);
        let mut covered = 0;
        for rep in 0..200 {
            let [a, b] = design.draw(&mut rng);
            let config = BootstrapConfig {
                replicates: 499,
                seed: rep,
                level: 0.95,
            };
            let r = paired_bootstrap(&a, &b, &config).unwrap();
            if r.ci[0] <= truth && truth <= r.ci[1] {
                covered += 1;
            }
        }
        eprintln!("synthetic coverage: {covered} of 200");
        assert!((176..=198).contains(&covered), "covered {covered} of 200");
    }

    #[test]
    fn conservative_when_outcomes_are_independent_coin_flips() {
        // With no review or seed structure at all (every cell an independent Bernoulli(p)), the
        // review × seed resampling counts the cell noise three times (McCullagh 2000): the
        // bootstrap variance is ≈ 3× the true one, so the interval is ≈ √3 too wide and covers
        // almost always. This pins that known behaviour down so that nobody mistakes it for a
        // bug: the true sd of the difference is √((p_a q_a + p_b q_b)/(N k)).
        let (n, k, pa, pb) = (400, 8, 0.88, 0.86);
        let true_sd = ((pa * (1.0 - pa) + pb * (1.0 - pb)) / (n * k) as f64).sqrt();
        let mut rng = Xoshiro256::seed_from_u64(77);
        let mut covered = 0;
        let mut ratio = 0.0;
        for rep in 0..40 {
            let a = coin_flips(&mut rng, n, k, pa);
            let b = coin_flips(&mut rng, n, k, pb);
            let config = BootstrapConfig {
                replicates: 400,
                seed: rep,
                level: 0.95,
            };
            let r = paired_bootstrap(&a, &b, &config).unwrap();
            covered += usize::from(r.ci[0] <= pa - pb && pa - pb <= r.ci[1]);
            ratio += r.se / true_sd / 40.0;
        }
        eprintln!("coin flips: covered {covered} of 40, bootstrap se / true se = {ratio}");
        // √3 = 1.73; the band allows for the sd's own sampling error over 40 experiments.
        assert!(
            (1.5..2.0).contains(&ratio),
            "bootstrap se / true se = {ratio}"
        );
        assert!(covered >= 39, "covered {covered} of 40");
    }

    #[test]
    fn wider_than_the_seeds_only_welch_interval_when_reviews_vary_more_than_seeds() {
        // Few reviews on which the two variants disagree a lot (ω = 1), almost no seed-to-seed
        // variation (τ = 0.02, σ = 0.05): the per-seed accuracies barely move, so Welch's interval
        // over seeds is narrow, but another 300 reviews could easily reverse the ranking.
        let design = Synthetic {
            reviews: 300,
            seeds: 10,
            c: [-1.0, -1.0],
            omega: 1.0,
            tau: 0.02,
            sigma: 0.05,
        };
        let mut rng = Xoshiro256::seed_from_u64(31);
        let [a, b] = design.draw(&mut rng);
        let acc = |runs: &[Correctness]| runs.iter().map(Correctness::accuracy).collect::<Vec<_>>();
        let w = welch(&acc(&a), &acc(&b)).unwrap();
        let r = paired_bootstrap(&a, &b, &BootstrapConfig::default()).unwrap();
        let (w_width, b_width) = (w.ci95[1] - w.ci95[0], r.ci[1] - r.ci[0]);
        eprintln!("bootstrap width {b_width}, Welch width {w_width}");
        assert!(
            b_width > 2.0 * w_width,
            "bootstrap {b_width} vs Welch {w_width}"
        );
        assert!((r.diff - w.diff).abs() < 1e-12);
    }

    #[test]
    fn p_value_and_errors() {
        // A variant right on every review against a reference wrong on every one: every replicate
        // is +1, none is ≤ 0, so p = 2·(1 + 0)/(B + 1).
        let all = vec![Correctness::from_bools(&[true; 70]); 3];
        let none = vec![Correctness::from_bools(&[false; 70]); 2];
        let config = BootstrapConfig {
            replicates: 99,
            seed: 1,
            level: 0.9,
        };
        let r = paired_bootstrap(&all, &none, &config).unwrap();
        assert_eq!((r.diff, r.ci, r.se), (1.0, [1.0, 1.0], 0.0));
        assert!((r.p - 0.02).abs() < 1e-15);
        // Identical sides: every replicate with the same seed draws is exactly 0 → p = 1.
        let same = paired_bootstrap(&all, &all, &config).unwrap();
        assert_eq!(same.p, 1.0);

        let short = vec![Correctness::from_bools(&[true; 69])];
        assert_eq!(
            paired_bootstrap(&all, &short, &config),
            Err(BootstrapError::LengthMismatch {
                expected: 70,
                found: 69
            })
        );
        assert_eq!(
            paired_bootstrap(&all, &[], &config),
            Err(BootstrapError::NoSeeds)
        );
        let bad = Correctness {
            len: 3,
            bits: vec![0b1000],
        };
        let ok = Correctness::from_bools(&[true; 3]);
        assert_eq!(
            paired_bootstrap(&[bad], &[ok], &config),
            Err(BootstrapError::Malformed)
        );
        assert_eq!(
            paired_bootstrap(
                &all,
                &none,
                &BootstrapConfig {
                    replicates: 0,
                    ..config
                }
            ),
            Err(BootstrapError::NoReplicates)
        );
        assert_eq!(
            paired_bootstrap(
                &all,
                &none,
                &BootstrapConfig {
                    level: 1.0,
                    ..config
                }
            ),
            Err(BootstrapError::Level(1.0))
        );
    }

    #[test]
    fn extra_levels_come_from_the_same_replicates() {
        let mut rng = Xoshiro256::seed_from_u64(12);
        let a = coin_flips(&mut rng, 500, 4, 0.86);
        let b = coin_flips(&mut rng, 500, 4, 0.84);
        let config = BootstrapConfig {
            replicates: 800,
            seed: 5,
            level: 0.95,
        };
        let plain = paired_bootstrap(&a, &b, &config).unwrap();
        let (same, extra) = paired_bootstrap_at(&a, &b, &config, &[0.95, 0.99]).unwrap();
        assert_eq!(plain, same);
        assert_eq!(extra[0], plain.ci);
        // A higher level reaches further into both tails of the same replicates.
        assert!(
            extra[1][0] <= plain.ci[0] && extra[1][1] >= plain.ci[1],
            "{extra:?}"
        );
        assert_eq!(
            paired_bootstrap_at(&a, &b, &config, &[1.5]),
            Err(BootstrapError::Level(1.5))
        );
        // One variant's accuracy: the interval of its mean, around it.
        let one = accuracy_bootstrap(&a, &config).unwrap();
        let ci = one.ci;
        let mean = a.iter().map(Correctness::accuracy).sum::<f64>() / a.len() as f64;
        assert_eq!(one.diff, mean);
        assert!(ci[0] < mean && mean < ci[1], "{ci:?} around {mean}");
        // Binomial se of one run's accuracy on 500 reviews ≈ √(0.86·0.14/500) = 0.0155: the
        // 95% interval of the 4-run mean is of that order (reviews are shared by the runs).
        assert!((0.02..0.12).contains(&(ci[1] - ci[0])), "{ci:?}");
    }

    #[test]
    fn quantile_matches_numpy() {
        // numpy.percentile([1, 2, 4, 8, 16], [2.5, 50, 97.5]) → [1.1, 4.0, 15.2] (linear method,
        // NumPy 2.4.6; tools/study-stats/expected_values.py section "percentile"); 1e-12.
        let xs = [1.0, 2.0, 4.0, 8.0, 16.0];
        for (q, want) in [(0.025, 1.1), (0.5, 4.0), (0.975, 15.2)] {
            assert!((quantile(&xs, q) - want).abs() < 1e-12, "{q}");
        }
    }
}
