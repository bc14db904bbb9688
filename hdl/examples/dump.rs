fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let cfg = spikeslice_hdl::ArrayConfig {
        rows: args[0],
        cols: args[1],
        ..Default::default()
    };
    let m = spikeslice_hdl::generate(
        &cfg,
        std::path::Path::new(&format!("/tmp/gen_{}x{}", args[0], args[1])),
    )
    .unwrap();
    println!("{}", m.hash);
}
