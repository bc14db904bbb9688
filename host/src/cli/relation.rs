//! `spikeslice relation`: the thesis' bits-against-timesteps measurement
//! (accumulated and stepwise SNN accuracy against T, quantized-ANN accuracy
//! against bits, matched b -> T, and the logistic fit T(b) = L/(1+e^(-k(b-x0)))).

use super::train::Common;
use anyhow::Result;
use spikeslice_core::atomic;
use spikeslice_train::plot::{self, Chart, Series};
use spikeslice_train::relation::{self, Relation};
use spikeslice_train::sweep::{self, SweepEvent};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    /// Directory for relation.json, relation.csv and the plots.
    #[arg(
        long,
        visible_alias = "out-dir",
        value_name = "DIR",
        default_value = "relation-out"
    )]
    out: PathBuf,
    #[command(flatten)]
    cache: super::sweep::CacheArgs,
}

fn charts(r: &Relation, dir: &Path) -> Vec<String> {
    let t: Vec<(f64, f64)> = (1..=r.snn_accumulated.len())
        .map(|t| t as f64)
        .zip(r.snn_accumulated.iter().map(|a| 100.0 * a))
        .collect();
    let s: Vec<(f64, f64)> = (1..=r.snn_stepwise.len())
        .map(|t| t as f64)
        .zip(r.snn_stepwise.iter().map(|a| 100.0 * a))
        .collect();
    let snn = Chart {
        title: format!(
            "{} on {}: SNN accuracy against timesteps (b_s = 1, b_w = 8)",
            r.arch, r.data
        ),
        x_desc: "timestep T".into(),
        y_desc: "accuracy (%)".into(),
        series: vec![
            Series {
                name: "accumulated".into(),
                points: t,
                dashed: false,
                ..Default::default()
            },
            Series {
                name: "stepwise".into(),
                points: s,
                dashed: false,
                ..Default::default()
            },
        ],
        x_labels: None,
        ..Default::default()
    };
    let ann = Chart {
        title: format!(
            "{} on {}: quantized ANN accuracy against activation bits (b_w = 8)",
            r.arch, r.data
        ),
        x_desc: "activation bits b".into(),
        y_desc: "accuracy (%)".into(),
        series: vec![Series {
            name: "quantized ANN (integer)".into(),
            points: r
                .ann_by_bits
                .iter()
                .map(|&(b, a)| (f64::from(b), 100.0 * a))
                .collect(),
            dashed: false,
            ..Default::default()
        }],
        x_labels: None,
        ..Default::default()
    };
    let mut series = vec![Series {
        name: "matched T".into(),
        points: r
            .matched
            .iter()
            .map(|m| (f64::from(m.bits), f64::from(m.timesteps)))
            .collect(),
        dashed: false,
        ..Default::default()
    }];
    if let Some(f) = r.fit {
        series.push(Series {
            name: format!(
                "L/(1+e^(-k(b-x0))): L={:.2} k={:.2} x0={:.2}",
                f.l, f.k, f.x0
            ),
            points: (0..=70)
                .map(|i| 1.0 + i as f64 * 0.1)
                .map(|b| (b, f.eval(b)))
                .collect(),
            dashed: true,
            ..Default::default()
        });
    }
    let matched = Chart {
        title: format!("{} on {}: timesteps matching b bits", r.arch, r.data),
        x_desc: "activation bits b".into(),
        y_desc: "timesteps T".into(),
        series,
        x_labels: None,
        ..Default::default()
    };
    let mut warnings = Vec::new();
    for (name, c) in [
        ("relation-snn", &snn),
        ("relation-ann", &ann),
        ("relation-matched", &matched),
    ] {
        for ext in ["png", "svg"] {
            let p = dir.join(format!("{name}.{ext}"));
            match plot::render(c, &p) {
                Ok(()) => status!("wrote {}", p.display()),
                Err(e) => warnings.push(format!("no plot {}: {e:#}", p.display())),
            }
        }
    }
    warnings
}

pub fn run(args: Args) -> Result<()> {
    let cfg = args.common.config("8/1/1".parse()?)?;
    super::outputs::check_dir_target("--out", &args.out)?;
    let data = spikeslice_train::data::load(&cfg.data, cfg.train_limit, cfg.test_limit)?;
    let cache = args.cache.dir();
    let mut bar = super::progress::training();
    let (float, acc, _) = sweep::float_net(&cfg, &data, &cache, &mut |e| {
        if let SweepEvent::Train { stage, done, total } = e {
            bar(stage, done, total)
        }
    })?;
    let r = relation::measure(&float, &cfg.arch, &data, acc, cfg.seed)?;
    // The files first: a closed or full standard output must not lose them.
    let json = args.out.join("relation.json");
    let mut csv = String::from("t,snn_accumulated,snn_stepwise\n");
    for (i, (a, s)) in r.snn_accumulated.iter().zip(&r.snn_stepwise).enumerate() {
        csv.push_str(&format!("{},{a:.4},{s:.4}\n", i + 1));
    }
    let csv_path = args.out.join("relation.csv");
    atomic::write_all(&[
        (csv_path.clone(), csv.into_bytes()),
        (
            json.clone(),
            (serde_json::to_string_pretty(&r)? + "\n").into_bytes(),
        ),
    ])?;
    status!("wrote {}", json.display());
    status!("wrote {}", csv_path.display());
    for w in charts(&r, &args.out) {
        status!("warning: {w}");
    }
    out!("float {} on {}: {:.2}%", cfg.arch, cfg.data, 100.0 * acc);
    let mut t = spikeslice::report::table(&[
        "bits b",
        "qANN %",
        "rel. ANN",
        "matched T",
        "rel. SNN",
        "SNN acc. at T %",
        "stepwise at T %",
    ]);
    for m in &r.matched {
        let i = m.timesteps as usize - 1;
        t.add_row(vec![
            m.bits.to_string(),
            format!("{:.2}", 100.0 * r.ann_by_bits[m.bits as usize - 1].1),
            format!("{:.4}", m.relative_ann),
            format!(
                "{}{}",
                m.timesteps,
                if m.saturated { " (not reached)" } else { "" }
            ),
            format!("{:.4}", m.relative_snn),
            format!("{:.2}", 100.0 * r.snn_accumulated[i]),
            format!("{:.2}", 100.0 * r.snn_stepwise[i]),
        ]);
    }
    out!("{t}");
    match r.fit {
        Some(f) => out!(
            "logistic fit T(b) = L/(1+e^(-k(b-x0))): L = {:.4}, k = {:.4}, x0 = {:.4} (rmse {:.3} timesteps); the bound T = 2^b - 1 would give {}",
            f.l,
            f.k,
            f.x0,
            f.rmse,
            (1..=8).map(|b| ((1u32 << b) - 1).to_string()).collect::<Vec<_>>().join(", ")
        ),
        None => out!("logistic fit: not enough points"),
    }
    Ok(())
}
