use burn::config::Config;
use burn::module::Module;

use super::{device, values};
use crate::{HiddenActivation, MlpConfig, ModelError, WeightInit};

#[test]
fn defaults_are_the_keras_imdb_baseline() {
    let config = MlpConfig::new(10_000);
    assert_eq!(config.input, 10_000);
    assert_eq!(config.hidden, vec![16, 16]);
    assert_eq!(config.activation, HiddenActivation::Relu);
    assert_eq!(config.dropout, None);
    assert_eq!(config.l2, None);
    assert_eq!(config.initializer, WeightInit::Keras);
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn json_is_readable_and_round_trips() {
    let config = MlpConfig::new(500)
        .with_hidden(vec![32, 32, 8])
        .with_activation(HiddenActivation::Tanh)
        .with_dropout(Some(0.5))
        .with_l2(Some(0.002))
        .with_initializer(WeightInit::Burn);
    let json = burn::config::config_to_json(&config);
    assert!(json.contains(r#""activation": "tanh""#), "{json}");
    assert!(json.contains(r#""initializer": "burn""#), "{json}");
    let back = MlpConfig::load_binary(json.as_bytes()).expect("parse");
    assert_eq!(back, config);

    // Missing optional fields read as `None`, as a hand-written file would expect.
    let minimal = r#"{"input": 10, "hidden": [4], "activation": "relu", "initializer": "keras"}"#;
    let parsed = MlpConfig::load_binary(minimal.as_bytes()).expect("parse");
    assert_eq!(parsed.dropout, None);
    assert_eq!(parsed.l2, None);
}

#[test]
fn every_invalid_config_is_rejected_with_its_variant() {
    type IsExpected = fn(&ModelError) -> bool;
    let base = MlpConfig::new(8).with_hidden(vec![4, 4]);
    let cases: Vec<(MlpConfig, IsExpected)> = vec![
        (
            MlpConfig {
                input: 0,
                ..base.clone()
            },
            |e| matches!(e, ModelError::ZeroInput),
        ),
        (base.clone().with_hidden(vec![]), |e| {
            matches!(e, ModelError::NoHiddenLayers)
        }),
        (base.clone().with_hidden(vec![4, 0, 4]), |e| {
            matches!(e, ModelError::ZeroHiddenUnits { layer: 1 })
        }),
        (
            base.clone().with_dropout(Some(1.0)),
            |e| matches!(e, ModelError::InvalidDropout { dropout } if *dropout == 1.0),
        ),
        (
            base.clone().with_dropout(Some(-0.1)),
            |e| matches!(e, ModelError::InvalidDropout { dropout } if *dropout == -0.1),
        ),
        (
            base.clone().with_dropout(Some(f64::NAN)),
            |e| matches!(e, ModelError::InvalidDropout { dropout } if dropout.is_nan()),
        ),
        (base.clone().with_dropout(Some(f64::INFINITY)), |e| {
            matches!(e, ModelError::InvalidDropout { .. })
        }),
        (
            base.clone().with_l2(Some(-1e-3)),
            |e| matches!(e, ModelError::InvalidL2 { l2 } if *l2 == -1e-3),
        ),
        (
            base.clone().with_l2(Some(f64::NAN)),
            |e| matches!(e, ModelError::InvalidL2 { l2 } if l2.is_nan()),
        ),
        (base.clone().with_l2(Some(f64::INFINITY)), |e| {
            matches!(e, ModelError::InvalidL2 { .. })
        }),
    ];
    for (config, is_expected) in cases {
        let err = config.validate().expect_err("invalid config accepted");
        assert!(is_expected(&err), "{config}: unexpected {err:?}");
        let err = config
            .try_init(&device())
            .expect_err("try_init built an invalid config");
        assert!(is_expected(&err), "{config}: unexpected {err:?}");
    }
}

#[test]
fn boundary_values_are_accepted() {
    let config = MlpConfig::new(1)
        .with_hidden(vec![1])
        .with_dropout(Some(0.0))
        .with_l2(Some(0.0));
    assert_eq!(config.validate(), Ok(()));
    let config = config.with_dropout(Some(0.999));
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn error_messages_name_field_and_value() {
    let msg = |config: MlpConfig| config.validate().unwrap_err().to_string();
    let base = MlpConfig::new(10_000);
    assert_eq!(
        msg(MlpConfig {
            input: 0,
            ..base.clone()
        }),
        "MlpConfig.input must be > 0, got 0"
    );
    assert_eq!(
        msg(base.clone().with_hidden(vec![16, 0])),
        "MlpConfig.hidden[1] must be > 0, got 0"
    );
    assert_eq!(
        msg(base.clone().with_dropout(Some(1.5))),
        "MlpConfig.dropout must be finite and in [0, 1), got 1.5"
    );
    assert_eq!(
        msg(base.with_l2(Some(-2.0))),
        "MlpConfig.l2 must be finite and >= 0, got -2"
    );
}

#[test]
#[should_panic(
    expected = "invalid MlpConfig: MlpConfig.dropout must be finite and in [0, 1), got 1"
)]
fn init_panics_with_the_error_message() {
    MlpConfig::new(10_000)
        .with_dropout(Some(1.0))
        .init(&device());
}

#[test]
fn keras_initializer_is_glorot_uniform_with_zero_biases() {
    let device = device();
    device.seed(7);
    let model = MlpConfig::new(1000).with_hidden(vec![64, 32]).init(&device);
    let layers = model.hidden.iter().chain(core::iter::once(&model.output));
    for linear in layers {
        let [fan_in, fan_out] = linear.weight.val().dims();
        // keras.initializers.GlorotUniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)).
        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
        let w = values(linear.weight.val());
        let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max <= limit, "[{fan_in}, {fan_out}]: |w| = {max} > {limit}");
        // The draw spans the range (not, say, a narrower Kaiming limit) on the larger layers.
        if w.len() >= 1000 {
            assert!(max > 0.9 * limit, "[{fan_in}, {fan_out}]: max |w| = {max}");
        }
        let bias = linear.bias.as_ref().expect("Dense has a bias");
        assert!(values(bias.val()).iter().all(|&b| b == 0.0));
    }
}

#[test]
fn burn_initializer_is_kaiming_uniform_for_weights_and_biases() {
    let device = device();
    device.seed(7);
    let model = MlpConfig::new(1000)
        .with_hidden(vec![64])
        .with_initializer(WeightInit::Burn)
        .init(&device);
    let first = &model.hidden[0];
    // burn-nn LinearConfig default: KaimingUniform{gain: 1/sqrt(3)} => U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    let limit = (1.0f64 / 1000.0).sqrt() as f32;
    let w = values(first.weight.val());
    assert!(w.iter().all(|v| v.abs() <= limit));
    let b = values(first.bias.as_ref().unwrap().val());
    assert!(b.iter().all(|v| v.abs() <= limit));
    assert!(b.iter().any(|&v| v != 0.0), "Burn init draws biases too");
}

#[test]
fn module_display_shows_the_architecture() {
    let model = MlpConfig::new(100)
        .with_hidden(vec![16, 8])
        .with_dropout(Some(0.5))
        .with_l2(Some(0.002))
        .init(&device());
    // Burn 0.22.1's module Display; the activation and l2 are shown by their Debug form.
    let expected = "\
Mlp {
  hidden: Vec<0..2> {
    0: Linear {d_input: 100, d_output: 16, bias: true, params: 1616}
    1: Linear {d_input: 16, d_output: 8, bias: true, params: 136}
  }
  output: Linear {d_input: 8, d_output: 1, bias: true, params: 9}
  activation: Relu
  dropout: Dropout {prob: 0.5}
  l2: Some(0.002)
  input_weights: None
  params: 1761
}";
    assert_eq!(model.to_string(), expected);
    // 100·16 + 16 + 16·8 + 8 + 8·1 + 1
    assert_eq!(model.num_params(), 1761);
}
