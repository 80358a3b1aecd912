//! RMSprop with Keras's update rule, as a Burn optimizer.
//!
//! Keras (`tf.keras.optimizers.RMSprop`, TF's `ApplyRMSProp`, and Keras 3 alike), per weight:
//!
//! ```text
//! v ← ρ·v + (1 − ρ)·g²          (v starts at 0)
//! w ← w − lr·g / √(v + ε)
//! ```
//!
//! Burn's `RmsProp` computes `g / (√v + ε)` instead: the same once `√v ≫ ε`, but with ε = 1e-7 the
//! two differ by tens of percent for weights whose gradients are around 1e-4 — and most rows of the
//! 10,000×16 first kernel see tiny or zero gradients in any step. So we implement Keras's rule.
//!
//! [`LazyRmsProp`] is the same rule for the first kernel of the host plan, applied to the rows a
//! batch touched only: an untouched row's gradient is zero, so its weight does not move and its
//! velocity only decays, `v ← ρ·v`, which it catches up on when next touched (the `k`
//! multiplications of `k` untouched steps, one by one: the very floats of the dense update).

use crate::config::RmsPropKerasConfig;
use crate::host::{host_address, host_copy, into_vec, vectorized, with_host_f32, write_in_place};
use crate::row_sparse;
use burn::optim::{LearningRate, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor, TensorData};
use std::sync::Mutex;

/// Keras's RMSprop (no momentum, not centred); build it with [`RmsPropKerasConfig::init`] or
/// [`RmsPropKerasConfig::init_host`].
#[derive(Clone, Debug)]
pub struct RmsPropKeras {
    rho: f64,
    epsilon: f64,
    /// Update each tensor in one host loop instead of nine tensor ops.
    host: bool,
}

/// Per-weight state: the moving average of squared gradients.
#[derive(Clone, Debug)]
pub struct RmsPropKerasState<const D: usize> {
    /// Keras's `velocity` slot.
    pub velocity: Tensor<D>,
}

impl RmsPropKerasConfig {
    /// The optimizer, ready for Burn's `Learner` (the learning rate is passed to the `Learner`).
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(RmsPropKeras {
            rho: self.rho,
            epsilon: self.epsilon,
            host: false,
        })
    }

    /// The same optimizer, updating each tensor in one loop on the host: one pass over weight,
    /// gradient and velocity instead of nine tensor ops, each a pass with a fresh buffer. Same
    /// operations in the same order, so the same floats. For CPU backends only: on a GPU it
    /// would copy every parameter to the host and back each step.
    pub fn init_host(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(RmsPropKeras {
            rho: self.rho,
            epsilon: self.epsilon,
            host: true,
        })
    }
}

impl Optimizer for RmsPropKeras {
    type State<const D: usize> = RmsPropKerasState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        // A row-sparse gradient meant for `LazyRmsProp` would zip wrongly against the weights.
        assert_eq!(
            grad.dims(),
            tensor.dims(),
            "RMSprop got a gradient of another shape than its parameter"
        );
        if self.host {
            return self.step_host(lr, tensor, grad, state);
        }
        let g2 = grad.clone().square().mul_scalar(1.0 - self.rho);
        let velocity = match state {
            Some(s) => s.velocity.mul_scalar(self.rho).add(g2),
            None => g2,
        };
        let step = grad
            .div(velocity.clone().add_scalar(self.epsilon).sqrt())
            .mul_scalar(lr);
        (tensor.sub(step), Some(RmsPropKerasState { velocity }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        RmsPropKerasState {
            velocity: state.velocity.to_device(device),
        }
    }
}

impl RmsPropKeras {
    /// [`Optimizer::step`] as one loop, with the tensor ops' arithmetic in their order (f32).
    ///
    /// The new weights are written over the gradient, which this step owns, while the old ones
    /// are read in place: the `Learner` still holds the current model, so writing into the
    /// weights' own buffer would first need a copy of it (12.8 MB a step for a 200,000-row `W₀`).
    fn step_host<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<RmsPropKerasState<D>>,
    ) -> (Tensor<D>, Option<RmsPropKerasState<D>>) {
        let (shape, device) = (tensor.shape(), tensor.device());
        let mut g_then_w = into_vec(grad);
        let had_state = state.is_some();
        let mut v = match state {
            Some(s) => into_vec(s.velocity),
            None => vec![0.0; g_then_w.len()],
        };
        let rule = UpdateRule::new(self.rho, self.epsilon, lr);
        with_host_f32(&tensor, |w| {
            vectorized(KerasUpdate {
                w,
                v: &mut v,
                g_then_w: &mut g_then_w,
                had_state,
                rule,
            })
        });
        drop(tensor);
        let tensor = Tensor::from_data(TensorData::new(g_then_w, shape.clone()), &device);
        let velocity = Tensor::from_data(TensorData::new(v, shape), &device);
        (tensor, Some(RmsPropKerasState { velocity }))
    }
}

/// Keras's update of every weight of a tensor, one pass compiled for the CPU's vector width
/// ([`vectorized`]), in f32 with the tensor ops' arithmetic in their order:
/// `v ← ρ·v + (1 − ρ)·g²` (`v ← (1 − ρ)·g²` at the first step), `w ← w − g / √(v + ε) · lr`,
/// the new `w` written over `g`.
struct KerasUpdate<'a> {
    w: &'a [f32],
    v: &'a mut [f32],
    /// The gradient on the way in, the new weights on the way out.
    g_then_w: &'a mut [f32],
    had_state: bool,
    rule: UpdateRule,
}

impl pulp::WithSimd for KerasUpdate<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            w,
            v,
            g_then_w,
            had_state,
            mut rule,
        } = self;
        // Before the first step `v` is all zeros, so `0·v + g2` is exactly Keras's `g2` there: one
        // loop without a branch in it.
        if !had_state {
            rule.rho = 0.0;
        }
        for ((out, v), &w) in g_then_w.iter_mut().zip(v).zip(w) {
            *out = rule.weight(w, v, *out);
        }
    }
}

/// Keras's RMSprop on a first kernel whose gradient is row-sparse (one line per touched row: its
/// index, then its gradient): updates the touched rows only, with their pending velocity decay
/// applied first. Made by [`crate::ExecutionPlan::optimizer`] for `W₀` of the host plan; any
/// other gradient panics.
///
/// An untouched row's gradient is zero, so the dense update leaves its weights exactly as they
/// are (`w − 0/√(v + ε)·lr = w`) and only decays its velocity (`v·ρ + 0 = v·ρ`). This optimizer
/// applies those `k` skipped multiplications when the row is next touched, one by one, so it
/// computes the very floats of the dense update ([`RmsPropKeras`]'s host loop), bit for bit.
///
/// Every pending decay is applied at the end of each epoch (every `epoch_steps` steps), the
/// moment a checkpoint may be saved: saving then has nothing left to apply.
///
/// On Flex, `W₀` is updated in place, without a copy of the kernel: Burn's `Learner` still holds
/// the current kernel while the optimizer makes the next one, so the step writes into the
/// kernel of the step before (which nobody holds any more), after copying into it the rows the
/// last step changed. Elsewhere (another backend, or a kernel this optimizer did not make) it
/// updates a copy.
#[derive(Clone, Debug)]
pub struct LazyRmsProp {
    rho: f64,
    epsilon: f64,
    epoch_steps: u32,
}

impl LazyRmsProp {
    /// The lazy form of `config`'s RMSprop, for epochs of `epoch_steps` steps (batches).
    ///
    /// # Panics
    /// If `epoch_steps` is 0 or does not fit `u32`.
    pub fn new(config: &RmsPropKerasConfig, epoch_steps: usize) -> Self {
        let epoch_steps = u32::try_from(epoch_steps)
            .ok()
            .filter(|&n| n > 0)
            .expect("an epoch of 1 to 2^32 - 1 steps");
        Self {
            rho: config.rho,
            epsilon: config.epsilon,
            epoch_steps,
        }
    }
}

/// [`LazyRmsProp`]'s state for one `[width, units]` kernel, on the host.
///
/// Behind a lock only so that saving a checkpoint (which Burn does through `&self`) can bring
/// every row up to date in place: the run that is saved and the run resumed from the save then
/// continue from the same floats.
#[derive(Debug)]
pub struct LazyRmsPropState {
    rows: Mutex<LazyRows>,
}

#[derive(Debug)]
struct LazyRows {
    /// Keras's `velocity`, row-major; row `i` as of step `last[i]`.
    velocity: Vec<f32>,
    /// The step each row's velocity was last brought up to date at.
    last: Vec<u32>,
    /// Steps taken.
    step: u32,
    units: usize,
    /// The optimizer's ρ (NaN in a state read from a checkpoint until its first step: nothing is
    /// pending there).
    rho: f32,
    /// The kernels of the last two steps, for the in-place update; `None` until a step made one.
    kernels: Option<Kernels>,
}

/// The kernel the last step returned and the one it was made from.
#[derive(Debug)]
struct Kernels {
    /// What the last step returned: the model's `W₀` now, if nothing replaced it.
    current: Tensor<2>,
    /// The kernel the last step was given, equal to `current` but in the rows `stale`.
    previous: Tensor<2>,
    /// The rows the last step changed.
    stale: Vec<u32>,
}

impl Clone for LazyRmsPropState {
    fn clone(&self) -> Self {
        let rows = self.lock();
        Self {
            rows: Mutex::new(LazyRows {
                velocity: rows.velocity.clone(),
                last: rows.last.clone(),
                step: rows.step,
                units: rows.units,
                rho: rows.rho,
                // A clone shares no buffer to write into: its next step copies the kernel.
                kernels: None,
            }),
        }
    }
}

impl LazyRmsPropState {
    fn new(velocity: Vec<f32>, width: usize, units: usize, rho: f32) -> Self {
        Self {
            rows: Mutex::new(LazyRows {
                velocity,
                last: vec![0; width],
                step: 0,
                units,
                rho,
                kernels: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LazyRows> {
        // Nothing panics while holding it; a poisoned lock still holds consistent floats.
        self.rows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn rows(&mut self) -> &mut LazyRows {
        self.rows
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl LazyRows {
    /// Applies every pending decay: the velocity a dense update at every step would have.
    fn catch_up(&mut self) {
        vectorized(CatchUp {
            velocity: &mut self.velocity,
            last: &mut self.last,
            step: self.step,
            units: self.units,
            rho: self.rho,
        });
    }
}

impl Optimizer for LazyRmsProp {
    type State<const D: usize> = LazyRmsPropState;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<LazyRmsPropState>,
    ) -> (Tensor<D>, Option<LazyRmsPropState>) {
        let shape = tensor.shape();
        let [width, units] = shape.dims::<2>();
        let grad_shape = grad.shape().dims::<2>();
        let rho = self.rho as f32;
        let mut state = state
            .unwrap_or_else(|| LazyRmsPropState::new(vec![0.0; width * units], width, units, rho));
        let rows = state.rows();
        rows.rho = rho;
        assert_eq!(
            (rows.velocity.len(), rows.units),
            (width * units, units),
            "optimizer state of another kernel shape"
        );
        let tensor: Tensor<2> = tensor.reshape([width, units]);
        let grad = into_vec(grad);
        // The rows this step changes, checked before anything is written.
        let touched: Vec<u32> = row_sparse::decode(&grad, grad_shape, width, units)
            .map(|(i, _)| i as u32)
            .collect();
        rows.step += 1;
        let update = |w: &mut [f32], rows: &mut LazyRows| {
            vectorized(TouchedUpdate {
                w,
                velocity: &mut rows.velocity,
                last: &mut rows.last,
                step: rows.step,
                grad: &grad,
                units,
                rule: UpdateRule::new(self.rho, self.epsilon, lr),
            })
        };
        // In place: into the kernel of the step before, once it holds this step's kernel.
        let mut next = None;
        if let Some(kernels) = rows.kernels.take()
            && let Some(returned) = host_address(&kernels.current)
            && host_address(&tensor) == Some(returned)
        {
            let Kernels {
                current,
                previous,
                stale,
            } = kernels;
            drop(current);
            let written = write_in_place(previous, |w| {
                with_host_f32(&tensor, |now| copy_rows(w, now, &stale, units));
                update(w, rows);
            });
            next = written.1.map(|()| written.0);
        }
        let next = next.unwrap_or_else(|| {
            // A copy: the first step, another backend, or a kernel this optimizer did not make.
            let mut w = host_copy(&tensor);
            update(&mut w, rows);
            Tensor::from_data(TensorData::new(w, [width, units]), &tensor.device())
        });
        rows.kernels = Some(Kernels {
            current: next.clone(),
            previous: tensor,
            stale: touched,
        });
        if rows.step.is_multiple_of(self.epoch_steps) {
            rows.catch_up();
        }
        (next.reshape(shape), Some(state))
    }

    fn to_device<const D: usize>(state: LazyRmsPropState, _device: &Device) -> LazyRmsPropState {
        // Host memory is the only place the host plan runs.
        state
    }
}

/// Copies the rows `rows` (of `units` floats) of `src` into `dst`.
fn copy_rows(dst: &mut [f32], src: &[f32], rows: &[u32], units: usize) {
    fn fixed<const U: usize>(dst: &mut [f32], src: &[f32], rows: &[u32]) {
        // Whole arrays: a few vector moves a row, where a slice copy is a `memcpy` call.
        let ((dst, _), (src, _)) = (dst.as_chunks_mut::<U>(), src.as_chunks::<U>());
        for &i in rows {
            dst[i as usize] = src[i as usize];
        }
    }
    match units {
        16 => fixed::<16>(dst, src, rows),
        32 => fixed::<32>(dst, src, rows),
        _ => {
            for &i in rows {
                let span = i as usize * units..(i as usize + 1) * units;
                dst[span.clone()].copy_from_slice(&src[span]);
            }
        }
    }
}

/// [`LazyRmsProp`]'s update of the rows a row-sparse gradient holds, compiled for the CPU's
/// vector width ([`vectorized`]): per row, the `k` decays `v ← v·ρ` of the steps it missed, then
/// Keras's update in the dense loop's arithmetic and order ([`KerasUpdate`]).
struct TouchedUpdate<'a> {
    /// The kernel, updated in place.
    w: &'a mut [f32],
    velocity: &'a mut [f32],
    last: &'a mut [u32],
    /// This step's number (the first is 1).
    step: u32,
    /// `[k, 1 + units]`: row index, then the row's gradient, checked by [`row_sparse::decode`].
    grad: &'a [f32],
    units: usize,
    rule: UpdateRule,
}

impl pulp::WithSimd for TouchedUpdate<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            w,
            velocity,
            last,
            step,
            grad,
            units,
            rule: update,
        } = self;
        // Fixed-size rows for the common widths: a row is then a few vector registers.
        match units {
            16 => touched_rows::<16>(w, velocity, last, step, grad, update),
            32 => touched_rows::<32>(w, velocity, last, step, grad, update),
            _ => {
                for line in grad.chunks_exact(1 + units) {
                    let (i, g) = (line[0] as usize, &line[1..]);
                    let span = i * units..(i + 1) * units;
                    update.row(
                        &mut w[span.clone()],
                        &mut velocity[span],
                        g,
                        &mut last[i],
                        step,
                    );
                }
            }
        }
    }
}

/// The constants of Keras's update, in f32.
#[derive(Clone, Copy)]
struct UpdateRule {
    rho: f32,
    one_minus_rho: f32,
    epsilon: f32,
    lr: f32,
}

impl UpdateRule {
    /// The constants for ρ, ε and the learning rate `lr`, as the optimizers hold them.
    fn new(rho: f64, epsilon: f64, lr: LearningRate) -> Self {
        Self {
            rho: rho as f32,
            one_minus_rho: (1.0 - rho) as f32,
            epsilon: epsilon as f32,
            lr: lr as f32,
        }
    }

    /// One row: the dense loop's `v·ρ + (1 − ρ)·0²` at each step this row missed since step
    /// `last`, which is `v·ρ` exactly (at the first step `v` is 0 and stays 0), then Keras's
    /// update in the dense loop's arithmetic and order ([`KerasUpdate`]).
    #[inline(always)]
    fn row(self, w: &mut [f32], v: &mut [f32], g: &[f32], last: &mut u32, step: u32) {
        for _ in *last + 1..step {
            v.iter_mut().for_each(|v| *v *= self.rho);
        }
        *last = step;
        for ((w, v), &g) in w.iter_mut().zip(v).zip(g) {
            *w = self.weight(*w, v, g);
        }
    }

    /// [`UpdateRule::row`] for rows of `U` floats, as arrays: a few vector instructions each.
    #[inline(always)]
    fn fixed_row<const U: usize>(
        self,
        w: &mut [f32; U],
        v: &mut [f32; U],
        g: &[f32; U],
        last: &mut u32,
        step: u32,
    ) {
        let mut velocity = *v;
        for _ in *last + 1..step {
            for v in &mut velocity {
                *v *= self.rho;
            }
        }
        *last = step;
        let mut weights = *w;
        for k in 0..U {
            weights[k] = self.weight(weights[k], &mut velocity[k], g[k]);
        }
        (*w, *v) = (weights, velocity);
    }

    /// `v ← ρ·v + (1 − ρ)·g²`, and the new weight.
    #[inline(always)]
    fn weight(self, w: f32, v: &mut f32, g: f32) -> f32 {
        let g2 = g * g * self.one_minus_rho;
        *v = *v * self.rho + g2;
        w - g / (*v + self.epsilon).sqrt() * self.lr
    }
}

#[inline(always)]
fn touched_rows<const U: usize>(
    w: &mut [f32],
    velocity: &mut [f32],
    last: &mut [u32],
    step: u32,
    grad: &[f32],
    update: UpdateRule,
) {
    let (w, _) = w.as_chunks_mut::<U>();
    let (velocity, _) = velocity.as_chunks_mut::<U>();
    for line in grad.chunks_exact(1 + U) {
        let i = line[0] as usize;
        let g: &[f32; U] = line[1..].try_into().expect("lines of 1 + U floats");
        update.fixed_row(&mut w[i], &mut velocity[i], g, &mut last[i], step);
    }
}

/// The decays every row has pending, applied (see [`TouchedUpdate`]).
struct CatchUp<'a> {
    velocity: &'a mut [f32],
    last: &'a mut [u32],
    step: u32,
    units: usize,
    rho: f32,
}

impl pulp::WithSimd for CatchUp<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Self {
            velocity,
            last,
            step,
            units,
            rho,
        } = self;
        for (v, last) in velocity.chunks_exact_mut(units).zip(last) {
            for _ in *last..step {
                v.iter_mut().for_each(|v| *v *= rho);
            }
            *last = step;
        }
    }
}

// A checkpoint holds the velocity with every pending decay applied (the same record as
// `RmsPropKerasState`'s), and saving applies it to the live state too, so the run that goes on
// and the run resumed from the checkpoint continue from the same floats.
impl RecordState for LazyRmsPropState {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let mut rows = self.lock();
        rows.catch_up();
        let width = rows.last.len();
        let velocity = TensorData::new(rows.velocity.clone(), [width, rows.units]);
        out.push_tensor(prefix, "velocity", velocity);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, _device: &Device) -> Option<Self> {
        let velocity = src.take_tensor(prefix, "velocity")?;
        let [width, units] = velocity.shape().dims::<2>();
        let velocity: Vec<f32> = velocity.convert::<f32>().try_into_vec().ok()?;
        // Nothing is pending, so ρ is only needed from the next step on, which sets it.
        Some(Self::new(velocity, width, units, f32::NAN))
    }
}

// Written by hand: `#[derive(RecordState)]` expands to paths inside burn-optim.
impl<const D: usize> RecordState for RmsPropKerasState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_tensor(prefix, "velocity", self.velocity.to_data());
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let data = src.take_tensor(prefix, "velocity")?;
        Some(Self {
            velocity: Tensor::from_data(data, device),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    /// Two steps on a tiny tensor against Keras's rule, computed with numpy (float64):
    /// ```python
    /// import numpy as np; np.set_printoptions(precision=10)
    /// w = np.array([0.5, -1.0, 2.0, 0.0]); v = np.zeros(4); lr, rho, eps = 1e-3, 0.9, 1e-7
    /// for g in (np.array([0.1, -0.2, 1e-4, 0.0]), np.array([0.3, 0.1, -1e-4, 2.0])):
    ///     v = rho * v + (1 - rho) * g**2
    ///     w = w - lr * g / np.sqrt(v + eps)
    ///     print(repr(w))
    /// # array([ 0.4968378804, -0.9968377619,  1.9996853416,  0.          ])
    /// # array([ 0.4938227822, -0.9983121654,  1.9999986074, -0.0031622773])
    /// ```
    /// Tolerance 1e-6 absolute: the optimizer runs in f32.
    #[test]
    fn two_steps_match_keras() {
        for host in [false, true] {
            two_steps_match_keras_with(host);
        }
    }

    fn two_steps_match_keras_with(host: bool) {
        let device = Device::flex();
        let optim = RmsPropKeras {
            rho: 0.9,
            epsilon: 1e-7,
            host,
        };
        let t =
            |v: [f64; 4]| Tensor::<1>::from_data(TensorData::from(v.map(|x| x as f32)), &device);
        let (w, s) = optim.step(
            1e-3,
            t([0.5, -1.0, 2.0, 0.0]),
            t([0.1, -0.2, 1e-4, 0.0]),
            None,
        );
        assert_close(&w, [0.4968378804, -0.9968377619, 1.9996853416, 0.0]);
        let (w, s) = optim.step(1e-3, w, t([0.3, 0.1, -1e-4, 2.0]), s);
        assert_close(
            &w,
            [0.4938227822, -0.9983121654, 1.9999986074, -0.0031622773],
        );
        // The state survives a record round trip.
        let mut sink = StateSink::default();
        s.unwrap().state_flatten("p", &mut sink);
        let mut src = StateSource::default();
        for (name, data) in sink.tensors {
            src.insert_tensor(name, data);
        }
        let back = RmsPropKerasState::<1>::state_unflatten("p", &mut src, &device).unwrap();
        let v: Vec<f32> = back.velocity.into_data().try_to_vec().unwrap();
        // v after two steps: ρ(1 − ρ)·g1² + (1 − ρ)·g2² = 0.09·g1² + 0.1·g2².
        let expected = [
            0.09 * 0.01 + 0.1 * 0.09,
            0.09 * 0.04 + 0.1 * 0.01,
            0.09 * 1e-8 + 0.1 * 1e-8,
            0.4,
        ];
        for (a, b) in v.iter().zip(expected) {
            assert!((f64::from(*a) - b).abs() < 1e-7, "{v:?} vs {expected:?}");
        }
    }

    /// The host loop does the tensor ops' arithmetic in their order: identical floats, so a run
    /// does not depend on which one the backend got.
    #[test]
    fn host_loop_equals_tensor_ops_exactly() {
        let device = Device::flex();
        device.seed(3);
        let make = |host| RmsPropKeras {
            rho: 0.9,
            epsilon: 1e-7,
            host,
        };
        let (ops, host) = (make(false), make(true));
        let dist = burn::tensor::Distribution::Normal(0.0, 1e-2);
        let w0 = Tensor::<2>::random([300, 16], dist, &device);
        let (mut a, mut b) = ((w0.clone(), None), (w0, None));
        for _ in 0..3 {
            let g = Tensor::<2>::random([300, 16], dist, &device);
            a = ops.step(1e-3, a.0, g.clone(), a.1);
            b = host.step(1e-3, b.0, g, b.1);
        }
        assert_eq!(a.0.into_data(), b.0.into_data());
        assert_eq!(
            a.1.unwrap().velocity.into_data(),
            b.1.unwrap().velocity.into_data()
        );
    }

    /// The lazy update gives the dense one's floats, bit for bit, over 250 steps in which rows
    /// are touched every step, now and then, twice with 240 steps between, or never. Three lazy
    /// runs: one left alone (in place from its second step on), one whose caller keeps the
    /// previous kernel at some steps and hands it a copy of its kernel at others (both force
    /// the copying path), and one whose state goes through a checkpoint round trip after step
    /// 120, an epoch boundary.
    #[test]
    fn lazy_rows_equal_the_dense_update_bit_for_bit() {
        let (width, units, steps) = (300, 16, 250u32);
        let device = Device::flex();
        let config = RmsPropKerasConfig::new();
        let dense = RmsPropKeras {
            rho: config.rho,
            epsilon: config.epsilon,
            host: true,
        };
        // Epochs of 60 steps: decay is caught up at 60, 120, ...; the checkpoint round trip at
        // the end of step 120 (index 119) is at such a boundary, as the Learner's are.
        let lazy = LazyRmsProp::new(&config, 60);
        let touched = |row: usize, step: u32| match row {
            0..50 => true,
            50..200 => (row as u32 * 31 + step * 17).is_multiple_of(10),
            200..290 => step == 3 || step == 243,
            _ => false,
        };
        let mut seed = 0x5EEDu64;
        let mut normal = || {
            // SplitMix64 → a uniform in (-1, 1), scaled like a gradient.
            seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * 1e-2
        };
        type Run = (Tensor<2>, Option<LazyRmsPropState>);
        let w0 = Tensor::<2>::random([width, units], Distribution::Uniform(-0.1, 0.1), &device);
        let (mut wd, mut sd) = (w0.clone(), None);
        let (mut alone, mut meddled, mut saved): (Run, Run, Run) =
            ((w0.clone(), None), (w0.clone(), None), (w0.clone(), None));
        // Its own initial kernel, so that nothing else holds it after the first step.
        alone.0 = Tensor::from_data(w0.to_data(), &device);
        let (mut in_place, mut held) = (0, None);
        for step in 0..steps {
            let mut g_dense = vec![0.0f32; width * units];
            let mut g_sparse = Vec::new();
            for row in (0..width).filter(|&r| touched(r, step)) {
                g_sparse.push(row as f32);
                for u in 0..units {
                    let g = normal();
                    g_dense[row * units + u] = g;
                    g_sparse.push(g);
                }
            }
            let k = g_sparse.len() / (1 + units);
            let g_dense = Tensor::from_data(TensorData::new(g_dense, [width, units]), &device);
            let g_sparse = Tensor::from_data(TensorData::new(g_sparse, [k, 1 + units]), &device);
            (wd, sd) = dense.step(1e-3, wd, g_dense, sd);
            // In place, the new kernel is written into the one the step before was given.
            let before = alone.1.as_ref().and_then(|s| {
                let rows = s.lock();
                rows.kernels
                    .as_ref()
                    .and_then(|k| host_address(&k.previous))
            });
            alone = lazy.step(1e-3, alone.0, g_sparse.clone(), alone.1);
            in_place += usize::from(before.is_some() && before == host_address(&alone.0));
            let given = match step % 3 {
                // A kernel this optimizer did not make.
                0 => Tensor::from_data(meddled.0.to_data(), &device),
                _ => meddled.0,
            };
            // Held through the next step, which then cannot write into it.
            let hold = (step % 3 == 1).then(|| given.clone());
            meddled = lazy.step(1e-3, given, g_sparse.clone(), meddled.1);
            held = hold;
            saved = lazy.step(1e-3, saved.0, g_sparse, saved.1);
            if step == 119 {
                let mut sink = StateSink::default();
                saved.1.take().unwrap().state_flatten("w0", &mut sink);
                let mut src = StateSource::default();
                for (name, data) in sink.tensors {
                    src.insert_tensor(name, data);
                }
                saved.1 = LazyRmsPropState::state_unflatten("w0", &mut src, &device);
            }
        }
        drop(held);
        assert_eq!(
            in_place,
            steps as usize - 1,
            "the in-place path was not taken"
        );
        let floats = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        let wd = floats(wd);
        let vd = floats(sd.unwrap().velocity);
        for (name, (w, state)) in [("alone", alone), ("meddled", meddled), ("saved", saved)] {
            assert_eq!(floats(w), wd, "{name}: weights");
            let state = state.unwrap();
            let mut rows = state.lock();
            rows.catch_up();
            assert_eq!(rows.velocity, vd, "{name}: velocities");
        }
        // Never-touched rows have no velocity.
        assert!(vd[290 * units..].iter().all(|&v| v == 0.0));
    }

    /// Keras's update compiled for AVX2 gives the very floats of the SSE2 baseline (bitwise), at
    /// the first step and after it, on weights, gradients and velocities of mixed magnitudes
    /// (zeros included).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn every_vector_width_gives_the_same_update() {
        use pulp::{Simd, WithSimd};
        use rand::{Rng, SeedableRng};
        let Some(v3) = crate::host::widest() else {
            return;
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut floats = |n: usize, zeros: bool| -> Vec<f32> {
            (0..n)
                .map(|i| match zeros && i % 5 == 0 {
                    true => 0.0,
                    false => rng.random_range(-1.0f32..1.0) * 10f32.powi(rng.random_range(-8..2)),
                })
                .collect()
        };
        let (w, g) = (floats(1003, false), floats(1003, true));
        let v: Vec<f32> = floats(1003, true).iter().map(|x| x * x).collect();
        for had_state in [false, true] {
            let mut out = [(g.clone(), v.clone()), (g.clone(), v.clone())];
            if !had_state {
                out.iter_mut().for_each(|(_, v)| v.fill(0.0));
            }
            let [(w0, v0), (w1, v1)] = &mut out;
            let update = |g_then_w, v| KerasUpdate {
                w: &w,
                v,
                g_then_w,
                had_state,
                rule: UpdateRule::new(0.9, 1e-7, 1e-3),
            };
            update(w0, v0).with_simd(pulp::Scalar::new());
            Simd::vectorize(v3, update(w1, v1));
            let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(w0), bits(w1), "weights, had_state {had_state}");
            assert_eq!(bits(v0), bits(v1), "velocities, had_state {had_state}");
        }
    }

    fn assert_close(w: &Tensor<1>, expected: [f64; 4]) {
        let got: Vec<f32> = w.clone().into_data().try_to_vec().unwrap();
        for (a, b) in got.iter().zip(expected) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{got:?} vs {expected:?}");
        }
    }
}
