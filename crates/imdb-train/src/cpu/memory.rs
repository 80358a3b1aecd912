//! A CPU tensor's values as a Rust slice, with as few copies as Burn allows, and the two helpers
//! every loop of this module goes through: [`vectorized`] and [`prefetch`].
//!
//! Burn's `Learner` keeps its copy of the model while the optimizer makes the next one, so every
//! parameter the optimizer sees is shared, and `into_data` copies it (through `TensorData`
//! possibly twice: out of the shared buffer, then again to align it as `f32`; burn-ndarray
//! copies a shared array element by element). The CPU backends' own buffers (Flex's, and
//! burn-ndarray's array when it is contiguous) can be read in place instead, and copied out of
//! with one `memcpy`.

use burn::tensor::Tensor;

/// Runs `f` on the row-major `f32` values of `t`: the backend's own buffer when the tensor lives
/// there contiguously (Flex, NdArray), else (another backend or layout) a copy.
pub(crate) fn with_f32<const D: usize, R>(t: &Tensor<D>, f: impl FnOnce(&[f32]) -> R) -> R {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    #[allow(deprecated)] // burn-ndarray is deprecated in Burn 0.22; this crate still offers it.
    {
        use burn::backend::{BackendTensor, DispatchTensorKind};
        let numel = t.shape().num_elements();
        let kind = t.clone().inner().into_dispatch().kind;
        match &kind {
            #[cfg(feature = "flex")]
            DispatchTensorKind::Flex(BackendTensor::Float(flex)) if is_plain_f32(flex) => {
                return f(&flex.storage::<f32>()[..numel]);
            }
            #[cfg(feature = "ndarray")]
            DispatchTensorKind::NdArray(BackendTensor::Float(
                burn::backend::ndarray::NdArrayTensor::F32(array),
            )) => {
                if let Some(values) = array.view().as_slice() {
                    return f(values);
                }
            }
            _ => {}
        }
    }
    f(&into_f32_vec(t.clone()))
}

/// Whether `flex` is an `f32` tensor laid out row-major from the start of its buffer: what the
/// loops read and write as a plain slice.
#[cfg(feature = "flex")]
fn is_plain_f32(flex: &burn::backend::flex::FlexTensor) -> bool {
    flex.dtype() == burn::tensor::DType::F32
        && flex.is_contiguous()
        && flex.layout().start_offset() == 0
}

/// The address of `t`'s buffer when it is a tensor of a CPU backend: two tensors with the same
/// address share their values (a tensor's buffer cannot move while the tensor lives).
pub(crate) fn buffer_address<const D: usize>(t: &Tensor<D>) -> Option<usize> {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    #[allow(deprecated)] // burn-ndarray is deprecated in Burn 0.22; this crate still offers it.
    {
        use burn::backend::{BackendTensor, DispatchTensorKind};
        match t.clone().into_dispatch().kind {
            #[cfg(feature = "flex")]
            DispatchTensorKind::Flex(BackendTensor::Float(flex)) => {
                return Some(flex.bytes().as_ptr() as usize);
            }
            #[cfg(feature = "ndarray")]
            DispatchTensorKind::NdArray(BackendTensor::Float(
                burn::backend::ndarray::NdArrayTensor::F32(array),
            )) => return Some(array.view().as_ptr() as usize),
            _ => {}
        }
    }
    let _ = t;
    None
}

/// Runs `f` on the row-major `f32` values of `t` for writing, in place, when `t` is a contiguous
/// tensor of a CPU backend that nothing else holds, and returns `t` with `f`'s result; with `None`
/// instead (and `t` untouched) otherwise — shared, another backend or layout — so that the caller
/// can fall back to a copy.
pub(crate) fn write_in_place<const D: usize, R>(
    t: Tensor<D>,
    f: impl FnOnce(&mut [f32]) -> R,
) -> (Tensor<D>, Option<R>) {
    #[cfg(any(feature = "flex", feature = "ndarray"))]
    #[allow(deprecated)] // burn-ndarray is deprecated in Burn 0.22; this crate still offers it.
    {
        use burn::backend::{BackendTensor, DispatchTensorKind};
        let numel = t.shape().num_elements();
        let mut dispatch = t.into_dispatch();
        let buffer: Option<&mut [f32]> = match &mut dispatch.kind {
            #[cfg(feature = "flex")]
            DispatchTensorKind::Flex(BackendTensor::Float(flex)) if is_plain_f32(flex) => {
                flex.try_storage_mut::<f32>().map(|b| &mut b[..numel])
            }
            #[cfg(feature = "ndarray")]
            DispatchTensorKind::NdArray(BackendTensor::Float(
                burn::backend::ndarray::NdArrayTensor::F32(array),
            )) if array.is_unique() => array.ensure_owned().as_slice_mut(),
            _ => None,
        };
        let result = buffer.map(f);
        (Tensor::from_dispatch(dispatch), result)
    }
    #[cfg(not(any(feature = "flex", feature = "ndarray")))]
    {
        let _ = f;
        (t, None)
    }
}

/// A copy of the values of `t`, made with one `memcpy` of Flex's buffer: for tensors that are
/// shared (the parameters the optimizer gets).
pub(crate) fn f32_copy<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    with_f32(t, <[f32]>::to_vec)
}

/// The values of `t` as an owned vector, through `TensorData`: no copy when nobody else holds
/// the buffer (gradients, optimizer state).
pub(crate) fn into_f32_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec()
        .expect("converted to f32 above")
}

/// Runs the loops of `kernel` compiled for the widest vector instructions this CPU has: AVX2
/// where present (x86-64 CPUs since 2013–15), found at run time by `pulp`, else the x86-64
/// baseline (SSE2). `kernel`'s `with_simd` and everything it calls must be `#[inline(always)]`
/// to be compiled that way (a closure would not be: its body is a function of its own).
///
/// The loops run this way use separate multiplies and adds (Rust never fuses them into FMAs)
/// in a fixed order, and IEEE `+ − × ÷ √` round the same in every vector width, so every CPU
/// computes the same floats; only the number of lanes per instruction changes.
pub(crate) fn vectorized<K: pulp::WithSimd>(kernel: K) -> K::Output {
    pulp::Arch::new().dispatch(kernel)
}

/// For tests of [`vectorized`] kernels: the AVX2 level when this CPU has it (else `None`, and
/// such a test can only compare the baseline with itself, so it says it is skipped).
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn widest() -> Option<pulp::x86::V3> {
    let v3 = pulp::x86::V3::try_new();
    if v3.is_none() {
        // Straight to stderr: the test harness captures `eprintln!` of a passing test.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: this CPU has no AVX2; only the baseline width was run\n",
        );
    }
    v3
}

/// Asks the CPU to start loading `ids` into its caches, one request per 64-byte line, without
/// waiting for them: a hint that changes no value (nothing on CPUs other than x86-64).
#[inline]
pub(crate) fn prefetch(ids: &[u32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(sse) = pulp::core_arch::x86::Sse::try_new() {
        for line in ids.chunks(16) {
            sse._mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ids;
}
