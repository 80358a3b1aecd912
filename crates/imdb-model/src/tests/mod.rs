//! Unit tests; in-crate so they can set weights by hand.

mod config;
mod forward;
mod io;
mod loss;
mod sparse;

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

use crate::Mlp;

fn device() -> Device {
    Device::flex()
}

fn matrix(rows: &[&[f32]], device: &Device) -> Tensor<2> {
    let cols = rows.first().map_or(0, |r| r.len());
    let flat: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), cols]), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().expect("float tensor")
}

/// Kernel `[fan_in, fan_out]` and bias of one layer.
type Layer<'a> = (&'a [&'a [f32]], &'a [f32]);

/// Replaces every weight of `mlp` (hidden layers in order, then the output layer).
fn set_weights(mut mlp: Mlp, layers: &[Layer], device: &Device) -> Mlp {
    assert_eq!(layers.len(), mlp.hidden.len() + 1, "one entry per layer");
    let (output, hidden) = layers.split_last().expect("at least the output layer");
    let targets = mlp
        .hidden
        .iter_mut()
        .chain(core::iter::once(&mut mlp.output));
    for (linear, (kernel, bias)) in targets.zip(hidden.iter().chain(core::iter::once(output))) {
        linear.weight = Param::from_tensor(matrix(kernel, device));
        let bias = Tensor::from_data(TensorData::new(bias.to_vec(), [bias.len()]), device);
        linear.bias = Some(Param::from_tensor(bias));
    }
    mlp
}

/// SplitMix64: a seeded, dependency-free source of test inputs.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[test]
fn mlp_and_config_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Mlp>();
    assert_send_sync::<crate::MlpConfig>();
    assert_send_sync::<crate::SparseBatch>();
    assert_send_sync::<crate::MlpInput>();
    assert_send_sync::<crate::ModelError>();
    assert_send_sync::<crate::Loss>();
}
