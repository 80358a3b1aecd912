//! numpy's legacy `RandomState` shuffle, bit for bit.
//!
//! Keras's `imdb.load_data(seed=113)` shuffles with `np.random.RandomState(seed).shuffle`. Doing the
//! same here means the seed notebook's "first 10,000 training reviews" are the very same reviews
//! whenever the source order matches (it does for Keras's `imdb.npz`).
//!
//! MT19937 as in numpy's `mt19937.c` (`mt19937_seed` is the reference `init_genrand`), and
//! `_shuffle_raw`'s Fisher–Yates with `random_interval`'s masked rejection sampling.

const N: usize = 624;
const M: usize = 397;

/// numpy's `RandomState(seed)`, reduced to what `shuffle` needs.
pub struct NumpyRandomState {
    state: [u32; N],
    pos: usize,
}

impl NumpyRandomState {
    /// Same state as `np.random.RandomState(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, pos: N }
    }

    /// The next raw 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.regenerate();
        }
        let mut y = self.state[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn regenerate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        for i in 0..N {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// A uniform integer in `0..=max` (numpy's `random_interval` for `max < 2^32`).
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// Shuffles in place exactly as `RandomState.shuffle` does a 1-D array.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        assert!(
            u32::try_from(items.len()).is_ok(),
            "numpy shuffle of more than 2^32 items"
        );
        for i in (1..items.len()).rev() {
            let j = self.interval(i as u32) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NumpyRandomState;

    /// Reference MT19937 outputs: the first output after `init_genrand(5489)` is 3499211612
    /// (Matsumoto & Nishimura's reference code; C++ `std::mt19937` default-seeded).
    #[test]
    fn mt19937_reference_output() {
        let mut rs = NumpyRandomState::new(5489);
        assert_eq!(rs.next_u32(), 3_499_211_612);
        // std::mt19937 default-seeded: the 10000th output is 4123659995 (C++11 [rand.predef]).
        let mut rs = NumpyRandomState::new(5489);
        let v = (0..10_000).map(|_| rs.next_u32()).last().unwrap();
        assert_eq!(v, 4_123_659_995);
    }

    /// Expected values from numpy 2.x:
    /// `rs = np.random.RandomState(113); a = np.arange(10); rs.shuffle(a); b = np.arange(7); rs.shuffle(b)`.
    #[test]
    fn matches_numpy_shuffle() {
        let mut rs = NumpyRandomState::new(113);
        let mut a: Vec<u32> = (0..10).collect();
        rs.shuffle(&mut a);
        let mut b: Vec<u32> = (0..7).collect();
        rs.shuffle(&mut b);
        assert_eq!((a, b), (NUMPY_A.to_vec(), NUMPY_B.to_vec()));
    }

    /// The permutation Keras applies to the 25,000 training reviews, from numpy 2.4:
    /// `rs = np.random.RandomState(113); i = np.arange(25000); rs.shuffle(i); i[:5], i[-3:]`.
    #[test]
    fn matches_numpy_on_imdb_size() {
        let mut rs = NumpyRandomState::new(113);
        let mut idx: Vec<u32> = (0..25_000).collect();
        rs.shuffle(&mut idx);
        assert_eq!(idx[..5], [7798, 13226, 18078, 793, 17499]);
        assert_eq!(idx[24_997..], [22690, 4828, 14501]);
    }

    const NUMPY_A: [u32; 10] = [9, 3, 6, 1, 0, 7, 4, 8, 2, 5];
    const NUMPY_B: [u32; 7] = [5, 1, 0, 3, 6, 4, 2];
}
