//! "Embed me": the model used the way another Burn project would use it, from outside the crate,
//! as a field of its own module, trained with Burn's optimizers.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, RmsPropConfig};
use burn::tensor::{Device, Tensor, TensorData};
use imdb_model::{Loss, Mlp, MlpConfig, SparseBatch};

/// Someone else's model: a learned projection of raw features feeding our MLP.
#[derive(Module, Debug)]
struct Classifier {
    project: Linear,
    mlp: Mlp,
}

impl Classifier {
    fn new(features: usize, device: &Device) -> Self {
        let config = MlpConfig::new(16)
            .with_hidden(vec![16, 8])
            .with_l2(Some(1e-4));
        Self {
            project: LinearConfig::new(features, 16).init(device),
            mlp: config.init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.mlp.forward(self.project.forward(x))
    }

    fn loss(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        self.mlp.loss(Loss::Bce, self.forward(x), y)
    }
}

/// SplitMix64, so the data is the same on every run and every backend.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Points in [-1, 1]^features labelled by the sign of a fixed linear function: separable.
fn linear_problem(rows: usize, features: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let mut rng = Rng(2024);
    let mut x = Vec::with_capacity(rows * features);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f32> = (0..features).map(|_| 2.0 * rng.unit() - 1.0).collect();
        let score: f32 = row
            .iter()
            .enumerate()
            .map(|(j, v)| v * (j as f32 - 3.5))
            .sum();
        y.push((score > 0.0) as u8 as f32);
        x.extend(row);
    }
    (
        Tensor::from_data(TensorData::new(x, [rows, features]), device),
        Tensor::from_data(TensorData::new(y, [rows, 1]), device),
    )
}

/// Every float parameter of a module, in visiting order: what a foreign project can see of the
/// `Mlp` without any accessor of ours.
fn parameters<M: Module>(model: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v: Vec<f32> = param
                .val()
                .into_data()
                .convert::<f32>()
                .try_into_vec()
                .unwrap();
            self.0.extend(v);
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

#[test]
fn a_module_holding_an_mlp_trains_with_adam() {
    let device = Device::flex().autodiff();
    device.seed(1);
    let (x, y) = linear_problem(256, 8, &device);
    let mut model = Classifier::new(8, &device);
    let mut optim = AdamConfig::new().init();

    let mlp_before = parameters(&model.mlp);
    let loss_before: f32 = model.loss(x.clone(), y.clone()).into_scalar();
    for _ in 0..60 {
        let loss = model.loss(x.clone(), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    let loss_after: f32 = model.loss(x.clone(), y.clone()).into_scalar();

    assert!(
        loss_after < 0.5 * loss_before,
        "loss {loss_before} -> {loss_after}"
    );
    // The optimizer reached the parameters nested inside `Mlp`, not only the outer layer.
    // Visiting order starts with the first kernel, [16, 16].
    let mlp_after = parameters(&model.mlp);
    assert_eq!(mlp_after.len(), mlp_before.len());
    assert_ne!(
        mlp_after[..256],
        mlp_before[..256],
        "the first kernel moved"
    );

    // And the trained model works for inference off the autodiff device.
    let valid = model.valid();
    let probs = valid.mlp.predict_proba(valid.project.forward(x.inner()));
    assert_eq!(probs.dims(), [256, 1]);
}

#[test]
fn the_sparse_forward_trains_with_rmsprop() {
    // Reviews over 50 words: words 0..5 are "positive", 5..10 "negative"; label = which kind
    // occurs more. Trained on word ids only, never on a dense matrix.
    let device = Device::flex().autodiff();
    device.seed(2);
    let mut rng = Rng(7);
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..128 {
        let row: Vec<u32> = (0..12).map(|_| (rng.unit() * 50.0) as u32 % 50).collect();
        let pos = row.iter().filter(|&&w| w < 5).count();
        let neg = row.iter().filter(|&&w| (5..10).contains(&w)).count();
        labels.push((pos > neg) as u8 as f32);
        rows.push(row);
    }
    let csr = SparseBatch::from_rows(rows, 50).unwrap();
    let y = Tensor::<2>::from_data(TensorData::new(labels, [128, 1]), &device);

    // Someone else's module again, holding the MLP next to a constant of its own.
    #[derive(Module, Debug)]
    struct WordModel {
        mlp: Mlp,
        name: String,
    }
    let mut model = WordModel {
        mlp: MlpConfig::new(50).with_dropout(Some(0.1)).init(&device),
        name: "bag of words".into(),
    };
    // Keras's RMSprop defaults (Burn's differ: alpha 0.99, momentum 0.9, epsilon 1e-5).
    let mut optim = RmsPropConfig::new()
        .with_alpha(0.9)
        .with_momentum(0.0)
        .with_epsilon(1e-7)
        .init();

    let eval = |m: &WordModel| -> f32 {
        let m = m.valid().mlp;
        let logits = m.forward(csr.clone());
        m.loss(Loss::Bce, logits, y.clone().inner()).into_scalar()
    };
    let before = eval(&model);
    let kernel_before = parameters(&model.mlp);
    for _ in 0..80 {
        let logits = model.mlp.forward(csr.clone());
        let loss = model.mlp.loss(Loss::Bce, logits, y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    let after = eval(&model);
    assert!(after < 0.5 * before, "loss {before} -> {after}");
    // The first kernel (50 × 16, first in visiting order) learned from word ids alone.
    assert_ne!(parameters(&model.mlp)[..800], kernel_before[..800]);
    assert_eq!(model.name, "bag of words");
}
