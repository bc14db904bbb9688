//! Reports: what a run produced, as terminal tables and JSON.

use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use serde::Serialize;
use spikeslice_core::budget::NetworkBudget;
use spikeslice_core::golden::SampleOutput;
use spikeslice_core::model::Model;

/// One sample's result as written to `--output`.
#[derive(Debug, Serialize)]
pub struct SampleReport {
    pub index: usize,
    pub readout: Vec<i64>,
    pub class: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<u8>,
    pub layers: Vec<LayerSpikes>,
}

/// One layer's spikes for one sample.
#[derive(Debug, Serialize)]
pub struct LayerSpikes {
    pub name: String,
    pub spike_sum: u64,
    pub spike_events: u64,
    pub firing_rate: f64,
}

/// The whole `infer` report.
#[derive(Debug, Serialize)]
pub struct InferReport {
    pub model: String,
    pub backend: String,
    pub source: String,
    pub samples: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    pub results: Vec<SampleReport>,
}

impl InferReport {
    pub fn new(
        model: &Model,
        backend: &str,
        source: &str,
        outputs: &[SampleOutput],
        labels: Option<&[u8]>,
    ) -> Self {
        let results = outputs
            .iter()
            .enumerate()
            .map(|(index, o)| SampleReport {
                index,
                readout: o.readout.clone(),
                class: o.class,
                label: labels.map(|l| l[index]),
                layers: model
                    .layers
                    .iter()
                    .zip(&o.layers)
                    .map(|(l, s)| LayerSpikes {
                        name: l.name.clone(),
                        spike_sum: s.spike_sum,
                        spike_events: s.spike_events,
                        firing_rate: s.firing_rate(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            model: model.spec.name.clone(),
            backend: backend.to_string(),
            source: source.to_string(),
            samples: outputs.len(),
            accuracy: labels.map(|l| accuracy(outputs, l)),
            results,
        }
    }
}

/// Fraction of samples whose predicted class equals the label.
pub fn accuracy(outputs: &[SampleOutput], labels: &[u8]) -> f64 {
    if outputs.is_empty() {
        return 0.0;
    }
    let right = outputs
        .iter()
        .zip(labels)
        .filter(|(o, &l)| o.class == usize::from(l))
        .count();
    right as f64 / outputs.len() as f64
}

/// Group digits of an integer: 1234567 -> "1,234,567".
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A terminal table in the house style with this header.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    t
}

fn right_align(t: &mut Table, from: usize) {
    let n = t.column_count();
    for c in from..n {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// The bit-budget table of `spikeslice budget`.
pub fn budget_table(b: &NetworkBudget) -> String {
    let mut t = table(&[
        "layer",
        "kind",
        "neurons",
        "MACs",
        "b_w",
        "b_s in",
        "T",
        "BB",
        "S-ACE",
        "fr in",
        "NS-ACE",
        "params",
        "weight bits",
    ]);
    let opt = |v: Option<f64>, prec: usize| v.map_or("-".to_string(), |v| format!("{v:.prec$}"));
    for l in &b.layers {
        t.add_row(vec![
            l.name.clone(),
            l.kind.clone(),
            grouped(l.neurons),
            grouped(l.macs),
            l.weight_bits.to_string(),
            l.input_bits.to_string(),
            l.timesteps.to_string(),
            l.bit_budget.to_string(),
            grouped(l.s_ace),
            opt(l.input_firing_rate, 3),
            opt(l.ns_ace, 0),
            grouped(l.params),
            grouped(l.weight_memory_bits),
        ]);
    }
    t.add_row(vec![
        "total".to_string(),
        String::new(),
        grouped(b.layers.iter().map(|l| l.neurons).sum()),
        grouped(b.macs),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        grouped(b.s_ace),
        String::new(),
        opt(b.ns_ace, 0),
        grouped(b.params),
        grouped(b.weight_memory_bits),
    ]);
    right_align(&mut t, 2);
    t.to_string()
}

/// Per-layer firing summary of an inference run.
pub fn firing_table(model: &Model, outputs: &[SampleOutput]) -> String {
    let mut t = table(&[
        "layer",
        "neurons",
        "spikes / sample",
        "events / sample",
        "firing rate",
    ]);
    let n = outputs.len().max(1) as f64;
    for (i, l) in model.layers.iter().enumerate() {
        let mut s = spikeslice_core::golden::SpikeStats::default();
        for o in outputs {
            s.add(&o.layers[i]);
        }
        t.add_row(vec![
            l.name.clone(),
            grouped(l.neurons() as u64),
            format!("{:.1}", s.spike_sum as f64 / n),
            format!("{:.1}", s.spike_events as f64 / n),
            format!("{:.4}", s.firing_rate()),
        ]);
    }
    right_align(&mut t, 1);
    t.to_string()
}

/// Engineering notation for joules: "1.23 uJ".
pub fn joules(j: f64) -> String {
    let (v, unit) = match j.abs() {
        x if x >= 1.0 => (j, "J"),
        x if x >= 1e-3 => (j * 1e3, "mJ"),
        x if x >= 1e-6 => (j * 1e6, "uJ"),
        x if x >= 1e-9 => (j * 1e9, "nJ"),
        x if x >= 1e-12 => (j * 1e12, "pJ"),
        _ => (j * 1e15, "fJ"),
    };
    format!("{v:.3} {unit}")
}

/// The network summary and per-layer table of `spikeslice run`.
pub fn performance_report(p: &crate::performance::NetworkPerformance) -> String {
    use crate::performance::CycleSource;
    let mut out = String::new();
    let cycles = match (p.cycle_source, p.measured_cycles) {
        (CycleSource::Measured, Some(m)) => format!(
            "{} cycles measured (cycle model {}, {:+.2}%)",
            grouped(m.round() as u64),
            grouped(p.predicted_cycles),
            100.0 * (p.predicted_cycles as f64 - m) / m.max(1.0)
        ),
        _ => format!(
            "{} cycles (cycle model; the {} backend counts no cycles)",
            grouped(p.predicted_cycles),
            p.backend
        ),
    };
    out.push_str(&format!(
        "per inference on {}: {cycles}\n  latency {:.1} us, {:.0} fps, PE utilization {:.1}%, DMA {} B read + {} B written\n",
        p.config,
        p.latency_s * 1e6,
        p.fps,
        100.0 * p.utilization,
        grouped(p.dma_read_bytes.round() as u64),
        grouped(p.dma_write_bytes.round() as u64),
    ));
    let e = &p.energy;
    out.push_str(&format!(
        "  energy (model) {}: PE {}, buffers {}, DMA {}, neurons {}, static {}\n  per synaptic op {} ({} SOPs), per unit of Bit Budget {} (S-ACE {})\n",
        joules(e.total_j),
        joules(e.pe_j),
        joules(e.buffer_j),
        joules(e.dma_j),
        joules(e.neuron_j),
        joules(e.static_j),
        joules(p.energy_per_sop_j),
        grouped(p.sops),
        joules(p.energy_per_bit_budget_j),
        grouped(p.s_ace),
    ));
    if let Some(m) = &p.measured_power {
        out.push_str(&format!(
            "  energy (measured on the board) {} per inference: {:.3} W busy - {:.3} W idle over {:.1} s\n",
            joules(m.energy_per_inference_j),
            m.busy_w,
            m.idle_w,
            m.seconds
        ));
    }
    let mut t = table(&[
        "layer",
        "tiles",
        "cycles (model)",
        "cycles (measured)",
        "PE util.",
        "DMA read B",
        "DMA write B",
        "PE adds",
        "energy",
        "per BB unit",
    ]);
    for l in &p.layers {
        t.add_row(vec![
            l.name.clone(),
            grouped(l.tiles),
            grouped(l.predicted_cycles),
            l.measured_cycles
                .map_or("-".into(), |c| grouped(c.round() as u64)),
            format!("{:.1}%", 100.0 * l.utilization),
            grouped(l.dma_read_bytes.round() as u64),
            grouped(l.dma_write_bytes.round() as u64),
            l.pe_adds.map_or("-".into(), |a| grouped(a.round() as u64)),
            l.energy.map_or("-".into(), |e| joules(e.total_j)),
            l.energy
                .map_or("-".into(), |e| joules(e.per_bit_budget(l.s_ace))),
        ]);
    }
    right_align(&mut t, 1);
    out.push_str(&t.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn groups_digits() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }
}
