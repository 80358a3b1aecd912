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

use crate::config::RmsPropKerasConfig;
use burn::optim::{LearningRate, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor, TensorData};

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
    fn step_host<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<RmsPropKerasState<D>>,
    ) -> (Tensor<D>, Option<RmsPropKerasState<D>>) {
        let (shape, device) = (tensor.shape(), tensor.device());
        let mut w = host_vec(tensor);
        let g = host_vec(grad);
        let had_state = state.is_some();
        let mut v = match state {
            Some(s) => host_vec(s.velocity),
            None => vec![0.0; g.len()],
        };
        let (rho, one_minus_rho) = (self.rho as f32, (1.0 - self.rho) as f32);
        let (epsilon, lr) = (self.epsilon as f32, lr as f32);
        for ((w, v), &g) in w.iter_mut().zip(&mut v).zip(&g) {
            let g2 = g * g * one_minus_rho;
            *v = if had_state { *v * rho + g2 } else { g2 };
            *w -= g / (*v + epsilon).sqrt() * lr;
        }
        let tensor = Tensor::from_data(TensorData::new(w, shape.clone()), &device);
        let velocity = Tensor::from_data(TensorData::new(v, shape), &device);
        (tensor, Some(RmsPropKerasState { velocity }))
    }
}

fn host_vec<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec()
        .expect("converted to f32 above")
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

    fn assert_close(w: &Tensor<1>, expected: [f64; 4]) {
        let got: Vec<f32> = w.clone().into_data().try_to_vec().unwrap();
        for (a, b) in got.iter().zip(expected) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{got:?} vs {expected:?}");
        }
    }
}
