use burn::config::Config;
use burn::module::Module;

use super::{device, matrix, values};
use crate::{HiddenActivation, MlpConfig, WeightInit};

#[test]
fn config_and_weights_round_trip_through_files() {
    let device = device();
    device.seed(21);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = MlpConfig::new(6)
        .with_hidden(vec![5, 3])
        .with_activation(HiddenActivation::Tanh)
        .with_dropout(Some(0.25))
        .with_l2(Some(0.002))
        .with_initializer(WeightInit::Burn);
    let model = config.init(&device);
    let x = matrix(
        &[
            &[1.0, 0.0, 1.0, 0.0, 0.0, 1.0],
            &[0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
        ],
        &device,
    );
    let before = values(model.forward(x.clone()));

    config
        .save(dir.path().join("config.json"))
        .expect("save config");
    model
        .save_file(dir.path().join("model"))
        .expect("save weights");
    assert!(
        dir.path().join("model.bpk").is_file(),
        "burnpack extension added"
    );

    let config_back = MlpConfig::load(dir.path().join("config.json")).expect("load config");
    assert_eq!(config_back, config);
    // A fresh model (new random weights) then the saved ones over it.
    let fresh = config_back.init(&device);
    assert_ne!(values(fresh.forward(x.clone())), before);
    let loaded = fresh
        .try_load_file(dir.path().join("model"))
        .expect("load weights");
    assert_eq!(values(loaded.forward(x)), before);
    assert_eq!(loaded.l2_penalty().into_data(), {
        let again = config.init(&device).load_file(dir.path().join("model"));
        again.l2_penalty().into_data()
    });
}
