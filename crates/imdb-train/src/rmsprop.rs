//! RMSprop with Keras's update rule, as a Burn optimizer.
//!
//! Keras (`tf.keras.optimizers.RMSprop`, TF's `ApplyRMSProp`, and Keras 3 alike), per weight:
//!
//! ```text
//! v ← ρ·v + (1 − ρ)·g²          (v starts at 0)
//! w ← w − lr·g / √(v + ε)
//! ```
//!
//! Burn's `RmsProp` computes `g / (√v + ε)` instead: the same once `√v ≫ ε`, but with ε = 1e-7
//! the two differ by tens of percent for weights whose gradients are around 1e-4, and most rows
//! of the 10,000×16 first kernel see tiny or zero gradients in any step. So this is Keras's rule.
//!
//! It is written once, for one weight, in [`UpdateRule`]; three forms run it:
//!
//! - tensor ops ([`RmsPropKerasConfig::init`]), for GPU backends, where the weights stay on the
//!   device; the same operations in the same order, so the same floats (tested);
//! - one loop per parameter on the CPU ([`crate::cpu::optim`]), for CPU backends;
//! - for the first kernel of a sparse run on the CPU, the same loop over the rows a batch
//!   touched only ([`crate::cpu::optim::LazyRmsProp`]), exact to the bit.

use crate::config::RmsPropKerasConfig;
use crate::cpu::optim::dense_step;
use burn::optim::{LearningRate, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

/// Keras's RMSprop (no momentum, not centred); build it with [`RmsPropKerasConfig::init`].
#[derive(Clone, Debug)]
pub(crate) struct RmsPropKeras {
    pub(crate) rho: f64,
    pub(crate) epsilon: f64,
    /// Where each update runs.
    pub(crate) form: UpdateForm,
}

/// Where [`RmsPropKeras`] updates a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UpdateForm {
    /// Tensor ops on the parameter's device (GPUs).
    TensorOps,
    /// One pass over the parameter's values on the CPU ([`dense_step`]).
    CpuLoop,
}

/// Per-weight state: the moving average of squared gradients.
#[derive(Clone, Debug)]
pub(crate) struct RmsPropKerasState<const D: usize> {
    /// Keras's `velocity` slot.
    pub(crate) velocity: Tensor<D>,
}

impl RmsPropKerasConfig {
    /// Keras's RMSprop as Burn's module optimizer, for any Burn model and backend (the learning
    /// rate is passed to the `Learner` or to `ModuleOptimizer::step`): tensor ops on the
    /// parameters' device.
    pub fn init(&self) -> ModuleOptimizer {
        self.optimizer(UpdateForm::TensorOps).into()
    }

    /// The optimizer running each update in `form`.
    pub(crate) fn optimizer(&self, form: UpdateForm) -> RmsPropKeras {
        RmsPropKeras {
            rho: self.rho,
            epsilon: self.epsilon,
            form,
        }
    }
}

/// Keras's update of one weight, in `f32`: the one place the rule is written. Every form of
/// the optimizer calls it (the tensor-op form writes the same operations as tensor ops, in the
/// same order: `rmsprop::tests::the_cpu_loop_equals_the_tensor_ops_exactly`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UpdateRule {
    pub(crate) rho: f32,
    one_minus_rho: f32,
    epsilon: f32,
    lr: f32,
}

impl UpdateRule {
    /// The rule for ρ, ε and the learning rate `lr`, as the optimizers hold them.
    pub(crate) fn new(rho: f64, epsilon: f64, lr: LearningRate) -> Self {
        Self {
            rho: rho as f32,
            one_minus_rho: (1.0 - rho) as f32,
            epsilon: epsilon as f32,
            lr: lr as f32,
        }
    }

    /// `v ← ρ·v + (1 − ρ)·g²`, and the new weight `w − g / √(v + ε) · lr`.
    #[inline(always)]
    pub(crate) fn weight(self, w: f32, v: &mut f32, g: f32) -> f32 {
        let g2 = g * g * self.one_minus_rho;
        *v = *v * self.rho + g2;
        w - g / (*v + self.epsilon).sqrt() * self.lr
    }

    /// The update of a weight whose gradient is zero: `w` stays (`w − 0/√(v + ε)·lr = w`) and
    /// `v ← ρ·v + (1 − ρ)·0² = ρ·v`, exactly (`v ≥ 0`). What a row the batch did not touch gets.
    #[inline(always)]
    pub(crate) fn untouched(self, v: &mut f32) {
        *v *= self.rho;
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
        // A row-sparse gradient's marker, meant for the lazy optimizer, would zip wrongly.
        assert_eq!(
            grad.dims(),
            tensor.dims(),
            "RMSprop got a gradient of another shape than its parameter"
        );
        let (tensor, velocity) = match self.form {
            UpdateForm::CpuLoop => {
                let rule = UpdateRule::new(self.rho, self.epsilon, lr);
                dense_step(rule, tensor, grad, state.map(|s| s.velocity))
            }
            UpdateForm::TensorOps => {
                // UpdateRule::weight as tensor ops, in its order.
                let g2 = grad.clone().square().mul_scalar(1.0 - self.rho);
                let velocity = match state {
                    Some(s) => s.velocity.mul_scalar(self.rho).add(g2),
                    None => g2,
                };
                let step = grad
                    .div(velocity.clone().add_scalar(self.epsilon).sqrt())
                    .mul_scalar(lr);
                (tensor.sub(step), velocity)
            }
        };
        (tensor, Some(RmsPropKerasState { velocity }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        RmsPropKerasState {
            velocity: state.velocity.to_device(device),
        }
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
    use burn::tensor::TensorData;

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
        for form in [UpdateForm::TensorOps, UpdateForm::CpuLoop] {
            two_steps_match_keras_with(form);
        }
    }

    fn two_steps_match_keras_with(form: UpdateForm) {
        let device = Device::flex();
        let optim = RmsPropKerasConfig::new().optimizer(form);
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

    /// The CPU loop does the tensor ops' arithmetic in their order: identical floats, so a run
    /// does not depend on which one the backend got.
    #[test]
    fn the_cpu_loop_equals_the_tensor_ops_exactly() {
        let device = Device::flex();
        device.seed(3);
        let (ops, cpu) = (
            RmsPropKerasConfig::new().optimizer(UpdateForm::TensorOps),
            RmsPropKerasConfig::new().optimizer(UpdateForm::CpuLoop),
        );
        let dist = burn::tensor::Distribution::Normal(0.0, 1e-2);
        let w0 = Tensor::<2>::random([300, 16], dist, &device);
        let (mut a, mut b) = ((w0.clone(), None), (w0, None));
        for _ in 0..3 {
            let g = Tensor::<2>::random([300, 16], dist, &device);
            a = ops.step(1e-3, a.0, g.clone(), a.1);
            b = cpu.step(1e-3, b.0, g, b.1);
        }
        assert_eq!(a.0.into_data(), b.0.into_data());
        assert_eq!(
            a.1.unwrap().velocity.into_data(),
            b.1.unwrap().velocity.into_data()
        );
    }

    fn assert_close(w: &Tensor<1>, expected: [f64; 4]) {
        let got: Vec<f32> = w.clone().into_data().try_to_vec().unwrap();
        for (a, b) in got.iter().zip(expected) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{got:?} vs {expected:?}");
        }
    }
}
