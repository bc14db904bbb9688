//! The on-chip buffers a configuration instantiates, and which layers fit
//! them (docs/shell.md "Buffers" and the Fit check). The controller refuses a
//! layer that does not fit with [`ErrorCode::BufferOverflow`]; the compiler
//! checks the same rules first so a user hears about it before a run, with
//! the generator option that would make it fit.
//!
//! [`ErrorCode::BufferOverflow`]: super::regmap::ErrorCode::BufferOverflow

use super::descriptor::LayerDescriptor;
use super::AcceleratorConfig;

/// Address width of every buffer RAM port: depths are capped at `2^24` words.
pub const BANK_ADDR_BITS: usize = 24;
/// The core's fan-in counter is 16 bits wide; the weight banks stop at
/// `2^15` codes so the largest K always fits it.
pub const MAX_WEIGHT_DEPTH: usize = 1 << 15;

/// Largest power of two not above `x` (at least 2): the depth of a RAM built
/// from a byte budget.
pub fn pow2_floor(x: usize) -> usize {
    let x = x.max(2);
    1 << (usize::BITS - 1 - x.leading_zeros())
}

/// Sizes of the on-chip buffers derived from the accelerator configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferPlan {
    pub rows: usize,
    pub cols: usize,
    /// Depth of each of the C weight banks (8-bit codes): the largest K.
    pub wbank_depth: usize,
    /// Depth of each of the R activation banks (64-bit plane words).
    pub abank_depth: usize,
    /// Depth of the output buffer in 64-bit words (a write enable per bit).
    pub obuf_words: usize,
}

/// Why a layer does not fit, with the numbers a user needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error("fan-in {fan_in} exceeds the largest the core can count ({MAX_WEIGHT_DEPTH}); split the layer")]
    FanIn { fan_in: u64 },
    #[error("fan-in {fan_in} exceeds the weight banks' depth of {depth} codes (raise --wbuf-bytes to at least {need})")]
    Weights {
        fan_in: u64,
        depth: usize,
        need: u64,
    },
    #[error("the input needs {words} activation words per row bank ({chunks} chunks of {rows} slices x {plane_words} plane words) but a bank holds {depth} (raise --abuf-bytes to at least {need})")]
    Activations {
        words: u64,
        chunks: u64,
        rows: usize,
        plane_words: u64,
        depth: usize,
        need: u64,
    },
    #[error("the output needs {words} 64-bit words but the output buffer holds {depth} (raise --obuf-bytes to at least {need})")]
    Output { words: u64, depth: usize, need: u64 },
}

impl BufferPlan {
    pub fn new(cfg: &AcceleratorConfig) -> Self {
        Self {
            rows: cfg.rows,
            cols: cfg.cols,
            wbank_depth: pow2_floor(cfg.wbuf_bytes / cfg.cols.max(1)).min(MAX_WEIGHT_DEPTH),
            abank_depth: pow2_floor(cfg.abuf_bytes / 8 / cfg.rows.max(1)).min(1 << BANK_ADDR_BITS),
            obuf_words: pow2_floor(cfg.obuf_bytes / 8).min(1 << BANK_ADDR_BITS),
        }
    }

    /// Depth of one half of the weight banks and of the gather-row buffer: a
    /// layer whose fan-in fits it is double buffered, its next tile's weights
    /// (or next gather row) loading into the other half while the core runs
    /// (docs/controller.md, "Double buffering"). The controller's `Clr` state and the
    /// cycle model share this rule.
    pub fn double_buffer_depth(&self) -> usize {
        self.wbank_depth / 2
    }

    /// Bytes of block RAM the plan instantiates.
    pub fn ram_bytes(&self) -> usize {
        self.cols * self.wbank_depth + self.rows * self.abank_depth * 8 + self.obuf_words * 8
    }

    /// The controller's Fit check: a column tile's weights (K codes per
    /// column), all input planes split over the R row banks, and the whole
    /// output must each fit their buffer.
    pub fn fit(&self, d: &LayerDescriptor) -> Result<(), FitError> {
        let k = u64::from(d.fan_in);
        if k > MAX_WEIGHT_DEPTH as u64 {
            return Err(FitError::FanIn { fan_in: k });
        }
        if k > self.wbank_depth as u64 {
            return Err(FitError::Weights {
                fan_in: k,
                depth: self.wbank_depth,
                need: minimum_bytes(self.rows, self.cols, d)[0],
            });
        }
        let slices = d.slices();
        let chunks = slices.div_ceil(self.rows as u64);
        let plane_words = u64::from(d.input_len).div_ceil(64);
        let words = chunks * plane_words;
        if words > self.abank_depth as u64 {
            return Err(FitError::Activations {
                words,
                chunks,
                rows: self.rows,
                plane_words,
                depth: self.abank_depth,
                need: minimum_bytes(self.rows, self.cols, d)[1],
            });
        }
        let words = output_words(d);
        if words > self.obuf_words as u64 {
            return Err(FitError::Output {
                words,
                depth: self.obuf_words,
                need: minimum_bytes(self.rows, self.cols, d)[2],
            });
        }
        Ok(())
    }
}

/// The smallest buffer sizes in bytes (weights, activations, outputs) that
/// make a layer fit an array of `rows x cols`.
pub fn minimum_bytes(rows: usize, cols: usize, d: &LayerDescriptor) -> [u64; 3] {
    let slices = d.slices();
    let act_words = slices.div_ceil(rows as u64) * u64::from(d.input_len).div_ceil(64);
    [
        u64::from(d.fan_in).max(2).next_power_of_two() * cols as u64,
        act_words.max(2).next_power_of_two() * 8 * rows as u64,
        output_words(d).max(2).next_power_of_two() * 8,
    ]
}

impl FitError {
    /// Which of [`minimum_bytes`] this error is about (`None` for the fan-in
    /// limit, which no buffer size lifts).
    pub fn buffer(&self) -> Option<usize> {
        match self {
            FitError::FanIn { .. } => None,
            FitError::Weights { .. } => Some(0),
            FitError::Activations { .. } => Some(1),
            FitError::Output { .. } => Some(2),
        }
    }

    /// The same error suggesting `bytes` (e.g. the most any layer of a network
    /// needs, so one regeneration is enough).
    pub fn suggesting(mut self, bytes: u64) -> Self {
        match &mut self {
            FitError::FanIn { .. } => {}
            FitError::Weights { need, .. }
            | FitError::Activations { need, .. }
            | FitError::Output { need, .. } => *need = bytes,
        }
        self
    }
}

/// 64-bit words of a layer's output: `T b_s` planes of `ceil(O P / 64)` words,
/// or one word per neuron for a readout.
pub fn output_words(d: &LayerDescriptor) -> u64 {
    let neurons = u64::from(d.outputs) * u64::from(d.positions);
    if d.readout {
        neurons
    } else {
        u64::from(d.timesteps) * u64::from(d.spike_bits) * neurons.div_ceil(64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow2_floor_rounds_down() {
        assert_eq!(pow2_floor(0), 2);
        assert_eq!(pow2_floor(5), 4);
        assert_eq!(pow2_floor(4096), 4096);
        assert_eq!(pow2_floor(21845), 16384);
    }

    /// The suggested minimum is exact: it fits, and half of it does not.
    #[test]
    fn minimum_bytes_fit_and_half_does_not() {
        for (k, t, b_in, b_s, len, readout) in [
            (784u32, 2u32, 8u8, 2u8, 784u32, false),
            (100, 7, 3, 5, 100, false),
            (3000, 1, 1, 0, 3000, true),
        ] {
            let d = LayerDescriptor {
                readout,
                input_bits: b_in,
                spike_bits: b_s,
                timesteps: t,
                input_len: len,
                ..LayerDescriptor::dense(k, 300)
            };
            let [w, a, o] = minimum_bytes(4, 8, &d);
            let cfg = |w: u64, a: u64, o: u64| AcceleratorConfig {
                rows: 4,
                cols: 8,
                wbuf_bytes: w as usize,
                abuf_bytes: a as usize,
                obuf_bytes: o as usize,
                ..AcceleratorConfig::default()
            };
            let plan = |w, a, o| BufferPlan::new(&cfg(w, a, o));
            assert_eq!(plan(w, a, o).fit(&d), Ok(()));
            assert_eq!(plan(w / 2, a, o).fit(&d).unwrap_err().buffer(), Some(0));
            assert_eq!(plan(w, a / 2, o).fit(&d).unwrap_err().buffer(), Some(1));
            assert_eq!(plan(w, a, o / 2).fit(&d).unwrap_err().buffer(), Some(2));
        }
    }

    #[test]
    fn default_plan() {
        let p = BufferPlan::new(&AcceleratorConfig::default());
        assert_eq!(
            (p.wbank_depth, p.abank_depth, p.obuf_words),
            (32768, 2048, 8192)
        );
    }
}
