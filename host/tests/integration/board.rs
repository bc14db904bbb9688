//! The board path end to end, with the simulated board: the daemon
//! (`spikeslice-fw`) on one end of a pseudo-terminal pair or a TCP socket,
//! the host's board backend on the other, the same compiled programs as every
//! other backend. Behind the daemon's register seam is the generated
//! accelerator shell in Verilator (`spikeslice_fw::rtl`). Results must equal
//! the golden model bit for bit.

use serialport::{SerialPort, TTYPort};
use spikeslice::bitstream::{Bitstream, KV260_PART};
use spikeslice::compiler::{compile, Program};
use spikeslice::device::board::{BoardDevice, Transport, MIN_RUN_TIMEOUT};
use spikeslice::device::Device;
use spikeslice::flash;
use spikeslice_core::accel::AcceleratorConfig;
use spikeslice_core::golden::{self, Engine};
use spikeslice_core::model::Model;
use spikeslice_core::protocol::message::{Request, Response};
use spikeslice_core::protocol::Link;
use spikeslice_core::random::{self, Architecture};
use spikeslice_fw::board::Board;
use spikeslice_fw::daemon::Daemon;
use spikeslice_fw::rtl::RtlRegisters;
use spikeslice_fw::sim;
use spikeslice_fw::sysfs::Root;
use std::io::{self, Read, Write};
use std::time::Duration;

const WINDOW: usize = 4 << 20;

/// The daemon over a simulated board whose accelerator is the generated shell
/// in Verilator: every register access is an AXI4-Lite transaction, every byte
/// of a run goes through the RTL's DMA.
fn daemon(dir: &std::path::Path) -> Daemon {
    let root = Root(dir.to_path_buf());
    let paths = sim::create_tree(&root, WINDOW, "spikeslice").unwrap();
    let regs = RtlRegisters::new(&root, AcceleratorConfig::default()).unwrap();
    Daemon::new(Board::open(Box::new(regs), paths).unwrap())
}

/// One sample of a seeded random MLP on `dev`: its output must be the golden
/// model's.
fn runs_a_random_mlp_exactly(dev: &mut BoardDevice, seed: u64) {
    let mut rng = random::rng(seed);
    let model = random::model(&mut rng, Architecture::Mlp);
    let program = compile(&model, &dev.info.config).unwrap();
    runs_exactly(dev, &model, &program, &mut rng, &format!("seed {seed}"));
}

/// `program` (of `model`) runs one random sample on `dev` exactly as the golden
/// model does.
fn runs_exactly(
    dev: &mut BoardDevice,
    model: &Model,
    program: &Program,
    rng: &mut impl rand::Rng,
    what: &str,
) {
    let x = random::spikes(rng, model.input_len(), model.spec.input.bits.get(), 0.5);
    let got = dev.run(program, std::slice::from_ref(&x)).unwrap();
    assert_eq!(
        got[0].output,
        golden::run_sample(model, &x, Engine::Direct),
        "{what}"
    );
}

/// A daemon serving one end of a pty pair in a thread; returns the other end.
fn serve_pty(dir: &std::path::Path) -> (TTYPort, std::thread::JoinHandle<Daemon>) {
    let (mut host, mut board) = TTYPort::pair().expect("a pseudo-terminal pair");
    host.set_timeout(Duration::from_millis(20)).unwrap();
    board.set_timeout(Duration::from_millis(20)).unwrap();
    let mut d = daemon(dir);
    let handle = std::thread::spawn(move || {
        let mut link = Link::new(board);
        let _ = d.serve(&mut link); // ends when the host closes its end
        d
    });
    (host, handle)
}

/// `test` on a device connected to a daemon served over a pty in a fresh
/// directory (the board's root); the daemon, once the device is closed.
fn on_board(test: impl FnOnce(&mut BoardDevice, &std::path::Path)) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = serve_pty(dir.path());
    let mut dev = BoardDevice::connect(Box::new(port)).unwrap();
    test(&mut dev, dir.path());
    drop(dev);
    server.join().unwrap()
}

#[test]
fn networks_run_on_the_simulated_board_bit_identical_to_golden() {
    on_board(|dev, _| {
        assert_eq!(dev.info.config, AcceleratorConfig::default());
        for (seed, arch) in [
            (1u64, Architecture::Mlp),
            (2, Architecture::Conv),
            (3, Architecture::Conv),
        ] {
            let mut rng = random::rng(seed);
            let model = random::model(&mut rng, arch);
            let program = compile(&model, &dev.info.config).unwrap();
            let bits = model.spec.input.bits.get();
            let xs: Vec<Vec<u8>> = (0..3)
                .map(|_| random::spikes(&mut rng, model.input_len(), bits, 0.5))
                .collect();
            let got = dev.run(&program, &xs).unwrap();
            for (x, g) in xs.iter().zip(&got) {
                assert_eq!(
                    g.output,
                    golden::run_sample(&model, x, Engine::Direct),
                    "seed {seed}"
                );
                let spikes: u64 = g.output.layers.iter().map(|s| s.spike_sum).sum();
                assert_eq!(
                    g.activity.spikes, spikes,
                    "the spike counter counts every spike"
                );
            }
        }
        assert!(dev.power().unwrap() > 0);
    });
}

#[test]
fn flash_checks_the_part_converts_uploads_and_loads() {
    let d = on_board(|dev, dir| {
        let bit = Bitstream::synthetic(
            "spikeslice_top;UserID=0XFFFFFFFF",
            "xck26-sfvc784-2LV-c",
            20_000,
        );
        let dtbo = b"\xd0\x0d\xfe\xed fake overlay".to_vec();
        let f = flash::flash(dev, &bit.to_bit(), &dtbo, KV260_PART, &mut |_, _, _| {}).unwrap();
        assert_eq!(f.part, "xck26-sfvc784-2LV-c");
        // The app folder and the FPGA manager's firmware hold the converted image.
        let app = dir.join("lib/firmware/xilinx/spikeslice");
        assert_eq!(
            std::fs::read(app.join("spikeslice.bit.bin")).unwrap(),
            bit.to_bin()
        );
        assert_eq!(std::fs::read(app.join("spikeslice.dtbo")).unwrap(), dtbo);
        assert!(app.join("shell.json").exists());
        let fw =
            std::fs::read_to_string(dir.join("sys/class/fpga_manager/fpga0/firmware")).unwrap();
        assert_eq!(fw.trim(), "spikeslice.bit.bin");

        // A bitstream for another part is refused on the host, before any upload.
        let wrong = Bitstream::synthetic("other", "xczu9eg-ffvb1156-2-e", 10).to_bit();
        let e = flash::flash(dev, &wrong, &dtbo, KV260_PART, &mut |_, _, _| {})
            .unwrap_err()
            .to_string();
        assert!(e.contains("xczu9eg") && e.contains("xck26"), "{e}");

        // The freshly loaded design runs a network bit-identical to golden.
        runs_a_random_mlp_exactly(dev, 77);
    });
    assert_eq!(d.loaded, vec!["spikeslice_top".to_string()]);
}

#[test]
fn the_firmware_refuses_memory_outside_its_buffer() {
    on_board(|dev, _| {
        let e = dev
            .upload(WINDOW as u64 - 4, &[1, 2, 3, 4, 5])
            .unwrap_err()
            .to_string();
        assert!(e.contains("OutOfWindow") && e.contains("outside"), "{e}");
        let e = dev.read(u64::MAX - 2, 8).unwrap_err().to_string();
        assert!(e.contains("OutOfWindow"), "{e}");

        // A descriptor whose output points past the window: refused before the
        // accelerator starts, and nothing else in the window changes.
        let mut rng = random::rng(8);
        let model = random::model(&mut rng, Architecture::Mlp);
        let program = compile(&model, &dev.info.config).unwrap();
        let mut image = program.image.clone();
        let mut d0 = program.descriptors[0];
        d0.output = WINDOW as u32 - 8;
        let at = program.desc_offset as usize;
        image[at..at + 64].copy_from_slice(&d0.encode());
        dev.upload(0, &image).unwrap();
        let e = dev
            .start(
                program.desc_offset,
                program.descriptors.len() as u32,
                MIN_RUN_TIMEOUT,
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("OutOfWindow") && e.contains("refused before starting"),
            "{e}"
        );
        assert_eq!(dev.read(0, image.len()).unwrap(), image);

        // The device still works afterwards.
        runs_exactly(dev, &model, &program, &mut rng, "after a refusal");
    });
}

/// The run's time limit reaches the daemon with the request: a run given
/// less time than the accelerator needs comes back as the daemon's Timeout,
/// naming where the chain stood, and the accelerator, soft-reset by the
/// driver, runs the next chain exactly.
#[test]
fn a_run_past_its_time_limit_times_out_and_the_board_recovers() {
    on_board(|dev, _| {
        let model = Model::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/mnist-mlp.json"
        ))
        .unwrap();
        let program = compile(&model, &dev.info.config).unwrap();
        let mut rng = random::rng(11);
        // One run, uploaded, so that the chain below is this program's.
        runs_exactly(dev, &model, &program, &mut rng, "before the timeout");
        // 8,552 cycles of the Verilated shell take milliseconds of wall time:
        // a 1 ms limit cannot be met.
        let e = dev
            .start(
                program.desc_offset,
                program.descriptors.len() as u32,
                Duration::from_millis(1),
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Timeout") && e.contains("DESC_INDEX") && e.contains("soft-reset"),
            "{e}"
        );
        runs_exactly(dev, &model, &program, &mut rng, "after the timeout");
    });
}

#[test]
fn an_unknown_protocol_version_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = serve_pty(dir.path());
    let e = BoardDevice::connect_with(Box::new(port), 99)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("protocol 99") && e.contains("update"), "{e}");
    server.join().unwrap();
}

/// A transport that corrupts and drops what the host writes.
struct Faulty<T> {
    inner: T,
    state: u64,
    flipped: u32,
}

impl<T: Read> Read for Faulty<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<T: Write> Write for Faulty<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // xorshift: deterministic faults.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        match self.state % 10 {
            0 => Ok(buf.len()), // dropped
            1 if buf.len() > 2 => {
                let mut b = buf.to_vec();
                let i = (self.state >> 8) as usize % (b.len() - 1);
                b[i] ^= 0x10;
                self.flipped += 1;
                self.inner.write_all(&b)?;
                Ok(buf.len())
            }
            _ => {
                self.inner.write_all(buf)?;
                Ok(buf.len())
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[test]
fn flipped_bytes_and_dropped_frames_do_not_corrupt_results() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = serve_pty(dir.path());
    let faulty: Box<dyn Transport> = Box::new(Faulty {
        inner: port,
        state: 0x9E37_79B9_7F4A_7C15,
        flipped: 0,
    });
    let mut dev = BoardDevice::connect(faulty).unwrap();
    let mut rng = random::rng(21);
    let model = random::model(&mut rng, Architecture::Conv);
    let program = compile(&model, &dev.info.config).unwrap();
    let xs: Vec<Vec<u8>> = (0..4)
        .map(|_| {
            random::spikes(
                &mut rng,
                model.input_len(),
                model.spec.input.bits.get(),
                0.5,
            )
        })
        .collect();
    let got = dev.run(&program, &xs).unwrap();
    for (x, g) in xs.iter().zip(&got) {
        assert_eq!(g.output, golden::run_sample(&model, x, Engine::Direct));
    }
    drop(dev);
    server.join().unwrap();
}

#[test]
fn a_client_that_vanishes_mid_upload_leaves_the_daemon_serving() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut d = daemon(dir.path());
    let server = std::thread::spawn(move || {
        for _ in 0..3 {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            let mut link = Link::new(stream);
            let _ = d.serve(&mut link);
        }
    });
    let connect = || {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        BoardDevice::connect(Box::new(s)).unwrap()
    };
    // The first client shakes hands, uploads a chunk, then closes the link
    // halfway through the frame of the next chunk.
    let mut first = connect();
    first.upload(0, &vec![7u8; 1024]).unwrap();
    drop(first);
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    let frame = spikeslice_core::protocol::frame::Frame::data(
        0,
        spikeslice_core::protocol::message::encode(&Request::Upload {
            offset: 0,
            data: vec![9u8; 30_000],
        }),
    )
    .encode();
    raw.write_all(&frame[..frame.len() / 2]).unwrap();
    drop(raw);
    // The next client is served normally.
    let mut second = connect();
    runs_a_random_mlp_exactly(&mut second, 5);
    assert!(matches!(
        second.request(&Request::Reset).unwrap(),
        Response::Ok
    ));
    drop(second);
    server.join().unwrap();
}

/// A freshly booted board has no `/dev/uio0` until a bitstream's overlay
/// creates it: the daemon serves anyway, a run is refused with advice, and
/// the flashing handshake goes through so the first bitstream can be loaded.
#[test]
fn a_board_without_an_accelerator_can_be_reached_for_flashing() {
    let dir = tempfile::tempdir().unwrap();
    let root = Root(dir.path().to_path_buf());
    let paths = sim::create_tree(&root, WINDOW, "spikeslice").unwrap();
    // No overlay loaded: no UIO device.
    let _ = std::fs::remove_dir_all(root.path("sys/class/uio"));
    // One daemon session per connection (each handshake starts a new link).
    let session = || {
        let uio = spikeslice_fw::uio::Uio::open_or_unloaded(&root, "uio0").unwrap();
        assert!(!uio.is_loaded());
        let mut d = Daemon::new(Board::open(Box::new(uio), paths.clone()).unwrap());
        let (mut host, mut board) = TTYPort::pair().expect("a pseudo-terminal pair");
        host.set_timeout(Duration::from_millis(20)).unwrap();
        board.set_timeout(Duration::from_millis(20)).unwrap();
        let server = std::thread::spawn(move || {
            let mut link = Link::new(board);
            let _ = d.serve(&mut link);
        });
        (host, server)
    };
    let (host, server) = session();
    let e = BoardDevice::connect(Box::new(host)).err().expect("refused");
    assert!(e.to_string().contains("flash the bitstream first"), "{e}");
    server.join().unwrap();
    let (host, server) = session();
    let dev = BoardDevice::connect_for_flashing(Box::new(host)).unwrap();
    assert!(!dev.info.accelerator_loaded);
    assert_eq!(dev.info.id, 0);
    assert_eq!(dev.info.window_bytes, WINDOW as u64);
    drop(dev);
    server.join().unwrap();
}
