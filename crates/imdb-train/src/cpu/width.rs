//! The one place a loop over rows of `units` floats picks its compiled form.
//!
//! A row of `W₀`, of its gradient or of its optimizer state is `units` floats. For the seed's
//! widths (16 units, and the study's 32) a row as a fixed-size array fits in one or two vector
//! registers, and the compiler turns "add this row" into a few vector instructions; for any
//! other width the same loop runs over slices. Every row loop of this module ([`super::gather`],
//! [`super::optim`]) implements [`RowLoop`] once and runs through [`by_width`], so the widths with
//! a fixed form are listed here only.

/// A loop over rows of `units` floats, written once for a fixed width `U` and once for any
/// width. Both must compute the same floats in the same order (the fixed form only lets the
/// compiler keep a row in registers).
pub(crate) trait RowLoop {
    /// What the loop returns.
    type Output;

    /// The loop for rows of exactly `U` floats, as `[f32; U]` arrays.
    fn fixed<const U: usize>(self) -> Self::Output;

    /// The loop for rows of `units` floats, as slices.
    fn any(self, units: usize) -> Self::Output;
}

/// Runs `rows` in its fixed-width form for 16 and 32 units, else in its general form.
///
/// `#[inline(always)]`, like the loops it calls, so that inside [`super::memory::vectorized`]
/// everything is compiled for the CPU's widest vector instructions.
#[inline(always)]
pub(crate) fn by_width<L: RowLoop>(units: usize, rows: L) -> L::Output {
    match units {
        16 => rows.fixed::<16>(),
        32 => rows.fixed::<32>(),
        _ => rows.any(units),
    }
}
