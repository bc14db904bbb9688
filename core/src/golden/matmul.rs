//! One layer reduced to a matrix: the unit the accelerator's tile sequencer runs.
//!
//! This is the plain-field form that RTL test benches build and compare
//! against; it lowers to a dense [`NeuronLayer`].

use super::layer::{Engine, LayerTrace, NeuronLayer, Neurons, RequiredWidths, Synapses};
use crate::model::ModelError;
use crate::numeric::{SpikeBits, WeightBits};

/// A dense layer: `outputs` neurons, each summing `inputs` weighted spikes.
#[derive(Debug, Clone, PartialEq)]
pub struct MatmulLayer {
    pub outputs: usize,
    pub inputs: usize,
    /// `outputs x inputs`, row-major.
    pub weights: Vec<i8>,
    pub weight_bits: u8,
    pub input_bits: u8,
    pub neurons: Neurons,
}

impl MatmulLayer {
    /// The general form, validated.
    pub fn to_neuron_layer(&self) -> Result<NeuronLayer, ModelError> {
        let layer = NeuronLayer {
            name: "matmul".into(),
            synapses: Synapses::dense(self.outputs, self.inputs, self.weights.clone()),
            weight_bits: WeightBits::new(u32::from(self.weight_bits))
                .map_err(|e| ModelError::layer("matmul", e))?,
            input_bits: SpikeBits::new(u32::from(self.input_bits))
                .map_err(|e| ModelError::layer("matmul", e))?,
            neurons: self.neurons.clone(),
        };
        crate::model::validate_neuron_layer(&layer)?;
        Ok(layer)
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        self.to_neuron_layer().map(|_| ())
    }

    /// Run `inputs.len()` timesteps (`inputs[t]` has `self.inputs` spikes).
    ///
    /// # Panics
    /// On an invalid layer or inputs of the wrong length: this is the test
    /// benches' reference, fed by generators; user input goes through
    /// [`crate::model::Model`], which returns errors.
    pub fn run(&self, inputs: &[Vec<u8>]) -> LayerTrace {
        let layer = self.to_neuron_layer().expect("valid MatmulLayer");
        for x in inputs {
            assert_eq!(x.len(), self.inputs, "input vector length");
        }
        layer.run(inputs, Engine::Direct)
    }

    /// One binary slice's partial sums `P_j` for one timestep.
    pub fn slice_partial_sums(&self, input: &[u8], slice: u8) -> Vec<i64> {
        let layer = self.to_neuron_layer().expect("valid MatmulLayer");
        layer.slice_partial_sums(input, slice)
    }

    /// Worst-case widths over `timesteps` steps.
    pub fn required_widths(&self, timesteps: usize) -> RequiredWidths {
        let layer = self.to_neuron_layer().expect("valid MatmulLayer");
        layer.required_widths(timesteps)
    }
}
