//! What the training tests share.
// Each test file is its own crate and uses a part of this module.
#![allow(dead_code)]

use spikeslice_train::{PhaseConfig, TrainConfig};

/// A run of seconds: `float_epochs` of float training and one of QAT, in
/// batches of 50 at the default learning rates, on the first `train_limit`
/// training and `test_limit` test samples, noise measured on `noise_samples`.
pub fn tiny_training(
    float_epochs: usize,
    train_limit: usize,
    test_limit: usize,
    noise_samples: usize,
) -> TrainConfig {
    let d = TrainConfig::default();
    TrainConfig {
        float: PhaseConfig {
            epochs: float_epochs,
            batch: 50,
            ..d.float
        },
        qat: PhaseConfig {
            epochs: 1,
            batch: 50,
            ..d.qat
        },
        train_limit: Some(train_limit),
        test_limit: Some(test_limit),
        noise_samples,
        ..d
    }
}
