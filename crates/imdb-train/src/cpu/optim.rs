//! Keras's RMSprop on the CPU: one pass over a parameter ([`dense_step`]), and for the first
//! kernel of a sparse run the rows a batch touched only ([`LazyRmsProp`]). Both apply
//! [`UpdateRule`], the rule written once in [`crate::rmsprop`].

use burn::module::ParamId;
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor, TensorData};

use super::memory::{buffer_address, f32_copy, into_f32_vec, vectorized, with_f32, write_in_place};
use super::sparse_grad::{RowSparseGradient, SparseGradients};
use super::width::{RowLoop, by_width};
use crate::config::RmsPropKerasConfig;
use crate::rmsprop::UpdateRule;

/// One update of a whole parameter with `rule`: the new weights and velocity.
///
/// The new weights are written over the gradient, which this step owns, while the old ones are
/// read in place: Burn's `Learner` still holds the current model, so writing into the weights'
/// own buffer would first need a copy of it (12.8 MB a step for a 200,000-row `W₀`).
pub(crate) fn dense_step<const D: usize>(
    rule: UpdateRule,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    velocity: Option<Tensor<D>>,
) -> (Tensor<D>, Tensor<D>) {
    let (shape, device) = (tensor.shape(), tensor.device());
    let mut g_then_w = into_f32_vec(grad);
    let had_state = velocity.is_some();
    let mut v = match velocity {
        Some(v) => into_f32_vec(v),
        None => vec![0.0; g_then_w.len()],
    };
    with_f32(&tensor, |w| {
        vectorized(DenseUpdate {
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
    (tensor, velocity)
}

/// [`dense_step`]'s loop, compiled for the CPU's vector width.
struct DenseUpdate<'a> {
    w: &'a [f32],
    v: &'a mut [f32],
    /// The gradient on the way in, the new weights on the way out.
    g_then_w: &'a mut [f32],
    had_state: bool,
    rule: UpdateRule,
}

impl pulp::WithSimd for DenseUpdate<'_> {
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
        // Before the first step `v` is all zeros, so `0·v + g²(1 − ρ)` is exactly the tensor
        // form's first velocity `g²(1 − ρ)`: one loop without a branch in it.
        if !had_state {
            rule.rho = 0.0;
        }
        for ((out, v), &w) in g_then_w.iter_mut().zip(v).zip(w) {
            *out = rule.weight(w, v, *out);
        }
    }
}

/// Keras's RMSprop for the first kernel `W₀` of a sparse run on the CPU, updating only the rows
/// the batch touched. Made by [`super::plan::ExecutionPlan::optimizer`] for `W₀`'s `ParamId`;
/// it takes that parameter's [`RowSparseGradient`] from the step's [`SparseGradients`] (Burn
/// hands it only the marker, see [`super::sparse_grad`]).
///
/// An untouched row's gradient is zero, so the dense update leaves its weights as they are and
/// only decays its velocity ([`UpdateRule::untouched`]). This optimizer applies those skipped
/// decays when the row is next touched, one by one, so it computes the very floats of the dense
/// update ([`dense_step`]), bit for bit; a saved state has them all applied.
///
/// On Flex, `W₀` is updated in place, without a copy of the kernel: Burn's `Learner` still holds
/// the current kernel while the optimizer makes the next one, so the step writes into the
/// kernel of the step before (which nobody holds any more), after copying into it the rows the
/// last step changed. Elsewhere (another backend, or a kernel this optimizer did not make) it
/// updates a copy.
#[derive(Clone, Debug)]
pub(crate) struct LazyRmsProp {
    rho: f64,
    epsilon: f64,
    param: ParamId,
    gradients: SparseGradients,
}

impl LazyRmsProp {
    /// The lazy form of `config`'s RMSprop for the parameter `param`, whose gradients arrive
    /// through `gradients`.
    pub(crate) fn new(
        config: &RmsPropKerasConfig,
        param: ParamId,
        gradients: SparseGradients,
    ) -> Self {
        Self {
            rho: config.rho,
            epsilon: config.epsilon,
            param,
            gradients,
        }
    }
}

/// [`LazyRmsProp`]'s state for one `[width, units]` kernel.
#[derive(Debug)]
pub(crate) struct LazyRmsPropState {
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
        Self {
            velocity: self.velocity.clone(),
            last: self.last.clone(),
            step: self.step,
            units: self.units,
            rho: self.rho,
            // A clone shares no buffer to write into: its next step copies the kernel.
            kernels: None,
        }
    }
}

impl LazyRmsPropState {
    fn new(velocity: Vec<f32>, width: usize, units: usize, rho: f32) -> Self {
        Self {
            velocity,
            last: vec![0; width],
            step: 0,
            units,
            rho,
            kernels: None,
        }
    }

    /// The velocity a dense update at every step would have: every pending decay applied, to a
    /// copy.
    fn caught_up(&self) -> Vec<f32> {
        let rule = UpdateRule::new(f64::from(self.rho), 0.0, 0.0);
        let mut velocity = self.velocity.clone();
        for (v, &last) in velocity.chunks_exact_mut(self.units).zip(&self.last) {
            for _ in last..self.step {
                v.iter_mut().for_each(|v| rule.untouched(v));
            }
        }
        velocity
    }
}

impl Optimizer for LazyRmsProp {
    type State<const D: usize> = LazyRmsPropState;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        marker: Tensor<D>,
        state: Option<LazyRmsPropState>,
    ) -> (Tensor<D>, Option<LazyRmsPropState>) {
        let shape = tensor.shape();
        let [width, units] = shape.dims::<2>();
        assert!(
            marker.shape().num_elements() == 0 && marker.dims()[D - 1] == units,
            "the lazy RMSprop takes the marker of a row-sparse gradient, got a {:?} gradient",
            marker.dims()
        );
        let gradient = self
            .gradients
            .take(self.param)
            .expect("the training step hands the row-sparse gradient over with its marker");
        assert_eq!(
            gradient.units(),
            units,
            "a gradient of another kernel width"
        );
        let rho = self.rho as f32;
        let mut state = state
            .unwrap_or_else(|| LazyRmsPropState::new(vec![0.0; width * units], width, units, rho));
        state.rho = rho;
        assert_eq!(
            (state.velocity.len(), state.units),
            (width * units, units),
            "optimizer state of another kernel shape"
        );
        let tensor: Tensor<2> = tensor.reshape([width, units]);
        state.step += 1;
        let rule = UpdateRule::new(self.rho, self.epsilon, lr);
        let update = |w: &mut [f32], state: &mut LazyRmsPropState| {
            vectorized(TouchedRows {
                w,
                velocity: &mut state.velocity,
                last: &mut state.last,
                step: state.step,
                gradient: &gradient,
                rule,
            })
        };
        // In place: into the kernel of the step before, once it holds this step's kernel.
        let mut next = None;
        if let Some(kernels) = state.kernels.take()
            && let Some(returned) = buffer_address(&kernels.current)
            && buffer_address(&tensor) == Some(returned)
        {
            let Kernels {
                current,
                previous,
                stale,
            } = kernels;
            drop(current);
            let written = write_in_place(previous, |w| {
                with_f32(&tensor, |now| {
                    by_width(
                        units,
                        CopyRows {
                            dst: w,
                            src: now,
                            rows: &stale,
                        },
                    )
                });
                update(w, &mut state);
            });
            next = written.1.map(|()| written.0);
        }
        let next = next.unwrap_or_else(|| {
            // A copy: the first step, another backend, or a kernel this optimizer did not make.
            let mut w = f32_copy(&tensor);
            update(&mut w, &mut state);
            Tensor::from_data(TensorData::new(w, [width, units]), &tensor.device())
        });
        state.kernels = Some(Kernels {
            current: next.clone(),
            previous: tensor,
            stale: gradient.rows().to_vec(),
        });
        (next.reshape(shape), Some(state))
    }

    fn to_device<const D: usize>(state: LazyRmsPropState, _device: &Device) -> LazyRmsPropState {
        // The state lives in host memory, where the CPU plan runs.
        state
    }
}

/// Per touched row, the decays of the steps it missed, then Keras's update of each weight
/// ([`UpdateRule`], as [`dense_step`] applies it).
struct TouchedRows<'a> {
    /// The kernel, updated in place.
    w: &'a mut [f32],
    velocity: &'a mut [f32],
    last: &'a mut [u32],
    /// This step's number (the first is 1).
    step: u32,
    gradient: &'a RowSparseGradient,
    rule: UpdateRule,
}

impl pulp::WithSimd for TouchedRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        by_width(self.gradient.units(), self)
    }
}

impl RowLoop for TouchedRows<'_> {
    type Output = ();

    /// A row is then a few vector registers.
    #[inline(always)]
    fn fixed<const U: usize>(self) {
        let (w, _) = self.w.as_chunks_mut::<U>();
        let (velocity, _) = self.velocity.as_chunks_mut::<U>();
        let (grads, _) = self.gradient.values().as_chunks::<U>();
        for (&i, g) in self.gradient.rows().iter().zip(grads) {
            let i = i as usize;
            let mut v = velocity[i];
            for _ in self.last[i] + 1..self.step {
                v.iter_mut().for_each(|v| self.rule.untouched(v));
            }
            self.last[i] = self.step;
            let mut weights = w[i];
            for k in 0..U {
                weights[k] = self.rule.weight(weights[k], &mut v[k], g[k]);
            }
            (w[i], velocity[i]) = (weights, v);
        }
    }

    #[inline(always)]
    fn any(self, units: usize) {
        let grads = self.gradient.values().chunks_exact(units);
        for (&i, g) in self.gradient.rows().iter().zip(grads) {
            let i = i as usize;
            let span = i * units..(i + 1) * units;
            let v = &mut self.velocity[span.clone()];
            for _ in self.last[i] + 1..self.step {
                v.iter_mut().for_each(|v| self.rule.untouched(v));
            }
            self.last[i] = self.step;
            for ((w, v), &g) in self.w[span].iter_mut().zip(v).zip(g) {
                *w = self.rule.weight(*w, v, g);
            }
        }
    }
}

/// Copies the rows `rows` of `src` into `dst`.
struct CopyRows<'a> {
    dst: &'a mut [f32],
    src: &'a [f32],
    rows: &'a [u32],
}

impl RowLoop for CopyRows<'_> {
    type Output = ();

    /// Whole arrays: a few vector moves a row, where a slice copy is a `memcpy` call.
    #[inline(always)]
    fn fixed<const U: usize>(self) {
        let ((dst, _), (src, _)) = (self.dst.as_chunks_mut::<U>(), self.src.as_chunks::<U>());
        for &i in self.rows {
            dst[i as usize] = src[i as usize];
        }
    }

    #[inline(always)]
    fn any(self, units: usize) {
        for &i in self.rows {
            let span = i as usize * units..(i as usize + 1) * units;
            self.dst[span.clone()].copy_from_slice(&self.src[span]);
        }
    }
}

// A checkpoint holds the velocity with every pending decay applied: the same record as
// `RmsPropKerasState`'s, so the run resumed from it continues from the floats of the run that
// saved it, which keeps its own decays pending (the same multiplications, later).
impl RecordState for LazyRmsPropState {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let width = self.last.len();
        let velocity = TensorData::new(self.caught_up(), [width, self.units]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    /// The lazy update gives the dense one's floats, bit for bit, over 250 steps in which rows
    /// are touched every step, now and then, twice with 240 steps between, or never. Three lazy
    /// runs: one left alone (in place from its second step on), one whose caller keeps the
    /// previous kernel at some steps and hands it a copy of its kernel at others (both force
    /// the copying path), and one whose state goes through a checkpoint round trip twice, with
    /// decays pending (after steps 120 and 201).
    #[test]
    fn lazy_rows_equal_the_dense_update_bit_for_bit() {
        let (width, units, steps) = (300, 16, 250u32);
        let device = Device::flex();
        let config = RmsPropKerasConfig::new();
        let rule = |lr| UpdateRule::new(config.rho, config.epsilon, lr);
        let (param, channel) = (ParamId::new(), SparseGradients::default());
        let lazy = LazyRmsProp::new(&config, param, channel.clone());
        let touched = |row: usize, step: u32| match row {
            0..50 => true,
            50..200 => (row as u32 * 31 + step * 17).is_multiple_of(10),
            200..290 => step == 3 || step == 243,
            _ => false,
        };
        let mut seed = 0x5EEDu64;
        let mut uniform = || {
            // SplitMix64 → a uniform in (-1, 1), scaled like a gradient.
            seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * 1e-2
        };
        type Run = (Tensor<2>, Option<LazyRmsPropState>);
        let w0 = Tensor::<2>::random([width, units], Distribution::Uniform(-0.1, 0.1), &device);
        let (mut wd, mut vd) = (w0.clone(), None);
        let (mut alone, mut meddled, mut saved): (Run, Run, Run) =
            ((w0.clone(), None), (w0.clone(), None), (w0.clone(), None));
        // Its own initial kernel, so that nothing else holds it after the first step.
        alone.0 = Tensor::from_data(w0.to_data(), &device);
        let (mut in_place, mut held) = (0, None);
        for step in 0..steps {
            let mut g_dense = vec![0.0f32; width * units];
            let (mut rows, mut values) = (Vec::new(), Vec::new());
            for row in (0..width).filter(|&r| touched(r, step)) {
                rows.push(row as u32);
                for u in 0..units {
                    let g = uniform();
                    g_dense[row * units + u] = g;
                    values.push(g);
                }
            }
            let g_dense = Tensor::from_data(TensorData::new(g_dense, [width, units]), &device);
            let gradient = RowSparseGradient::from_parts(rows, values, units);
            let marker = gradient.marker(&device);
            (wd, vd) = {
                let (w, v) = dense_step(rule(1e-3), wd, g_dense, vd);
                (w, Some(v))
            };
            let lazy_step = |run: Run| {
                channel.put(param, gradient.clone());
                lazy.step(1e-3, run.0, marker.clone(), run.1)
            };
            // In place, the new kernel is written into the one the step before was given.
            let before = alone
                .1
                .as_ref()
                .and_then(|s| s.kernels.as_ref().and_then(|k| buffer_address(&k.previous)));
            alone = lazy_step(alone);
            in_place += usize::from(before.is_some() && before == buffer_address(&alone.0));
            let given = match step % 3 {
                // A kernel this optimizer did not make.
                0 => Tensor::from_data(meddled.0.to_data(), &device),
                _ => meddled.0,
            };
            // Held through the next step, which then cannot write into it.
            let hold = (step % 3 == 1).then(|| given.clone());
            meddled = lazy_step((given, meddled.1));
            held = hold;
            saved = lazy_step(saved);
            if step == 119 || step == 200 {
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
        let (wd, vd) = (floats(wd), floats(vd.unwrap()));
        for (name, (w, state)) in [("alone", alone), ("meddled", meddled), ("saved", saved)] {
            assert_eq!(floats(w), wd, "{name}: weights");
            assert_eq!(state.unwrap().caught_up(), vd, "{name}: velocities");
        }
        // Never-touched rows have no velocity.
        assert!(vd[290 * units..].iter().all(|&v| v == 0.0));
    }

    /// Anything but the marker of a row-sparse gradient is refused: a dense gradient reaching
    /// the lazy optimizer fails loudly instead of training wrongly.
    #[test]
    #[should_panic(expected = "takes the marker of a row-sparse gradient")]
    fn the_lazy_optimizer_refuses_a_dense_gradient() {
        let device = Device::flex();
        let lazy = LazyRmsProp::new(
            &RmsPropKerasConfig::new(),
            ParamId::new(),
            SparseGradients::default(),
        );
        let w = Tensor::<2>::zeros([5, 2], &device);
        let _ = lazy.step(1e-3, w.clone(), w, None);
    }

    /// Keras's update compiled for AVX2 gives the very floats of the SSE2 baseline (bitwise), at
    /// the first step and after it, on weights, gradients and velocities of mixed magnitudes
    /// (zeros included).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn every_vector_width_gives_the_same_update() {
        use pulp::{Simd, WithSimd};
        use rand::{RngExt, SeedableRng};
        let Some(v3) = crate::cpu::memory::widest() else {
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
            let update = |g_then_w, v| DenseUpdate {
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
}
